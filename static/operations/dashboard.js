// The operators' dashboard, live: every data-refresh-seconds, fetch the panels (?panels=1) and swap them in.
// Without this script the page is complete as served; with it, only the figures change. Polls pause while
// the tab is hidden, and a failed poll marks the figures stale until the next one answers.
(function () {
  "use strict";
  const root = document.getElementById("dashboard");
  if (!root) return;
  const panels = document.getElementById("dashboard-panels");
  const updated = document.getElementById("dash-updated");
  const seconds = Math.max(1, parseFloat(root.dataset.refreshSeconds) || 5);
  document.getElementById("dash-live").hidden = false;
  let timer = null;

  function openDetails() {  // keep the operator's open tables open across swaps
    return Array.from(panels.querySelectorAll("details[open]"), (d) => d.closest("section").id || d.closest("section").getAttribute("aria-labelledby"));
  }

  async function refresh() {
    timer = null;
    try {
      const response = await fetch("?panels=1", { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const open = openDetails();
      panels.innerHTML = await response.text();
      for (const label of open) {
        const details = panels.querySelector(`section[aria-labelledby="${label}"] details`);
        if (details) details.open = true;
      }
      const grid = panels.querySelector(".dash-grid");
      if (grid && grid.dataset.now) {
        updated.dateTime = grid.dataset.now;
        updated.textContent = grid.dataset.now.slice(11, 19) + " UTC";
      }
      root.dataset.stale = "false";
    } catch (error) {
      root.dataset.stale = "true";
    }
    schedule();
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = setTimeout(refresh, seconds * 1000);
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden && timer !== null) { clearTimeout(timer); timer = null; }
    else if (!document.hidden) { if (timer !== null) clearTimeout(timer); timer = null; refresh(); }
  });
  schedule();
})();
