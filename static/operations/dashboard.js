// The operators' dashboard, live: every data-refresh-seconds, fetch the panels (?panels=1) and swap them in.
// Without this script the page is complete as served; with it, only the figures change. Polls pause while
// the tab is hidden or the operator pauses them (WCAG 2.2.2); a failed poll marks the figures stale until
// the next one answers; an ended session stops the polls (the admin would answer with its login page).
// Keyboard focus stays where it was across swaps, and changes of state are announced (#dash-announce).
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const panels = document.getElementById("dashboard-panels");
  const updated = document.getElementById("dash-updated");
  const pause = document.getElementById("dash-pause");
  const announce = document.getElementById("dash-announce");
  const seconds = Math.max(1, parseFloat(root.dataset.refreshSeconds) || 5);
  document.getElementById("dash-live").hidden = false;
  let timer = null;
  let paused = false;
  let ended = false;

  function say(message) { announce.textContent = message; }

  function openDetails() {  // keep the operator's open tables open across swaps
    return Array.from(panels.querySelectorAll("details[open]"), (d) => d.closest("section").getAttribute("aria-labelledby"));
  }

  function focusables() {
    return Array.from(panels.querySelectorAll("a[href], button, summary, input, select, [tabindex]"));
  }

  function focusedKey() {  // where keyboard focus is inside the panels: its id, or its place among the focusable
    const active = document.activeElement;
    if (!active || !panels.contains(active)) return null;
    return active.id ? { id: active.id } : { index: focusables().indexOf(active) };
  }

  function restoreFocus(key) {
    if (key === null) return;
    const element = key.id ? document.getElementById(key.id) : focusables()[key.index];
    if (element) element.focus({ preventScroll: true });
  }

  function endSession() {
    ended = true;
    root.dataset.stale = "true";
    pause.hidden = true;
    say("Your session ended: live updates stopped. Reload the page to log in again.");
  }

  async function refresh() {
    timer = null;
    if (paused || ended) return;
    try {
      const response = await fetch("?panels=1", { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected || response.status === 401 || response.status === 403) return endSession();
      if (!response.ok) throw new Error("HTTP " + response.status);
      const html = await response.text();
      if (paused) return;  // paused while the answer was on its way: keep what the operator is reading
      const open = openDetails();
      const focus = focusedKey();
      panels.innerHTML = html;
      for (const label of open) {
        const details = panels.querySelector(`section[aria-labelledby="${label}"] details`);
        if (details) details.open = true;
      }
      restoreFocus(focus);
      const grid = panels.querySelector(".dash-grid");
      if (grid && grid.dataset.now) {
        updated.dateTime = grid.dataset.now;
        updated.textContent = grid.dataset.now.slice(11, 19) + " UTC";
      }
      if (root.dataset.stale === "true") say("Live updates are back.");
      root.dataset.stale = "false";
    } catch (error) {
      if (root.dataset.stale !== "true") say("The server did not answer: the figures shown are stale.");
      root.dataset.stale = "true";
    }
    schedule();
  }

  function schedule() {
    if (timer === null && !document.hidden && !paused && !ended) timer = setTimeout(refresh, seconds * 1000);
  }

  function stop() { if (timer !== null) { clearTimeout(timer); timer = null; } }

  pause.hidden = false;
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.textContent = paused ? "Resume live updates" : "Pause live updates";
    pause.setAttribute("aria-pressed", String(paused));
    say(paused ? "Live updates paused." : "Live updates resumed.");
    stop();
    if (!paused) refresh();
  });

  document.addEventListener("visibilitychange", () => {
    stop();
    if (!document.hidden) refresh();
  });
  schedule();
})();
