// The booking page, live. Without this file the page still works as plain forms.
// State comes from the server only: the order's status (its event stream and API answers) and the
// flight's seat map (its event stream). Clicks ask the same API the integrators use.
(() => {
  "use strict";
  const root = document.getElementById("booking");
  if (!root) return;
  document.documentElement.classList.add("js");

  const orderId = root.dataset.orderId;
  const flight = root.dataset.flight;
  const maxAttempts = Number(root.dataset.maxAttempts);
  // Server time = Date.now() + clockOffset; the server's clock was read as this page's response started.
  const navigation = performance.getEntriesByType("navigation")[0];
  const clockOffset = Date.parse(root.dataset.serverNow) - (navigation ? performance.timeOrigin + navigation.responseStart : Date.now());
  const csrf = document.querySelector("#seat-form [name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const seats = new Map([...document.querySelectorAll(".seat")].map((el) => [el.dataset.seat, el]));
  const FINAL = { CONFIRMED: "Booked!", FAILED: "Payment failed", EXPIRED: "The hold expired", CANCELLED: "Booking cancelled" };

  let status = JSON.parse($("status-data").textContent);
  const held = new Set(); // seats held by anyone, as the flight's stream says
  const booked = new Set();
  for (const [label, el] of seats) {
    if (el.dataset.state === "held" || el.dataset.state === "mine") held.add(label);
    if (el.dataset.state === "booked" || el.dataset.state === "mine-booked") booked.add(label);
  }

  // --- seat map -------------------------------------------------------------------------------------
  const pending = new Set(); // seats clicked, not yet answered by the server
  const lastClick = new Map();
  let sending = false;
  let sendTimer = null;

  function mine() { return new Set(status.Seats); }
  function canChange() { return (status.State === "PENDING" || status.State === "SEATS_SELECTED") && !holdLapsed(); }

  function seatState(label) {
    if (mine().has(label)) return status.State === "CONFIRMED" ? "mine-booked" : "mine";
    if (booked.has(label)) return "booked";
    if (held.has(label)) return "held";
    return "available";
  }

  function drawSeats() {
    const wanted = mine();
    for (const [label, el] of seats) {
      const state = seatState(label);
      const input = el.querySelector("input");
      el.dataset.state = state;
      el.classList.toggle("pending", pending.has(label));
      if (!pending.has(label)) input.checked = wanted.has(label);
      input.disabled = !canChange() || state === "held" || state === "booked";
      input.setAttribute("aria-label", `Seat ${label}, ${state.replace("-", " ")}${pending.has(label) ? ", saving" : ""}`);
    }
  }

  function onSeatChange(event) {
    const input = event.target;
    const label = input.value;
    const now = performance.now();
    if (now - (lastClick.get(label) || -1e9) < 300) { // per-seat debounce: a double click is one click
      input.checked = !input.checked;
      return;
    }
    lastClick.set(label, now);
    pending.add(label);
    $("seat-error").textContent = "";
    drawSeats();
    clearTimeout(sendTimer);
    sendTimer = setTimeout(sendSelection, 120); // quick clicks on several seats go as one request
  }

  async function sendSelection() {
    if (sending) { sendTimer = setTimeout(sendSelection, 50); return; }
    sending = true;
    const wanted = [...seats.values()].filter((el) => el.querySelector("input").checked).map((el) => el.dataset.seat);
    const asked = new Set(pending);
    try {
      const response = await fetch(`/orders/${encodeURIComponent(orderId)}/seats`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ seats: wanted }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        applyStatus(body);
      } else {
        if (body.code === "seats_taken" && Array.isArray(body.seats)) body.seats.forEach((s) => held.add(s));
        $("seat-error").textContent = body.error || `The seats could not be changed (${response.status}).`;
        if (body.code === "hold_expired" || body.code === "wrong_state") refreshStatus();
      }
    } catch (error) {
      $("seat-error").textContent = "The server did not answer; your seats are as shown. Try again.";
    } finally {
      asked.forEach((s) => pending.delete(s));
      sending = false;
      drawSeats();
    }
  }

  // --- status: badge, countdown, payment, final screen ----------------------------------------------
  function holdLapsed() {
    return status.State === "SEATS_SELECTED" && status.HoldExpiresAt &&
      Date.parse(status.HoldExpiresAt) <= Date.now() + clockOffset;
  }

  function applyStatus(next) {
    if (!next || next.OrderID !== orderId) return;
    status = next;
    draw();
  }

  function draw() {
    const state = holdLapsed() ? "EXPIRED" : status.State;
    const badge = $("state");
    badge.textContent = state.replace("_", " ");
    badge.dataset.state = state;
    $("your-seats").textContent = status.Seats.length ? status.Seats.join(", ") : "none yet";
    $("attempts-left").textContent = status.AttemptsLeft;
    const payable = state === "SEATS_SELECTED";
    $("code").disabled = !payable;
    $("pay-button").disabled = !payable;
    $("cancel-form").querySelector("button").disabled = !(state === "PENDING" || state === "SEATS_SELECTED");
    const used = maxAttempts - status.AttemptsLeft;
    let progress = "";
    if (state === "PROCESSING_PAYMENT") {
      progress = used === 0 ? "Starting the payment…"
        : status.PaymentStatus === "retrying" ? `Attempt ${used} of ${maxAttempts} failed; trying again shortly…`
        : `Attempt ${used} of ${maxAttempts}…`;
    }
    $("progress").textContent = progress;
    $("payment-error").textContent = state === "FAILED" ? "" : status.LastPaymentErr;
    const final = FINAL[state];
    $("pay-section").hidden = Boolean(final);
    $("final").hidden = !final;
    $("final").dataset.state = state;
    if (final) {
      $("final-title").textContent = final;
      $("final-text").textContent = {
        CONFIRMED: `Your seats ${status.Seats.join(", ")} on ${flight} are booked.`,
        FAILED: status.LastPaymentErr || "The payment did not go through; the seats were released.",
        EXPIRED: "Nobody paid for the seats in time, so they were released.",
        CANCELLED: "The seats were released.",
      }[state];
    }
    root.querySelector("fieldset").disabled = !canChange();
    if (!canChange()) $("seat-legend").textContent = "Seat map";
    drawSeats();
    tick();
  }

  function tick() {
    const box = $("countdown");
    const counting = status.State === "SEATS_SELECTED" || status.State === "EXPIRED"; // expired: show the zero
    if (!counting || !status.HoldExpiresAt) { box.hidden = true; return; }
    box.hidden = false;
    const left = status.State === "EXPIRED" ? 0 : Math.max(0, Date.parse(status.HoldExpiresAt) - (Date.now() + clockOffset));
    const seconds = Math.ceil(left / 1000);
    const text = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
    $("countdown-time").textContent = text;
    box.dataset.phase = left <= 0 ? "expired" : left <= 60000 ? "warning" : "ok";
    if (left <= 0 && $("state").dataset.state !== "EXPIRED") draw(); // the hold is over: say so at once
  }

  async function refreshStatus() {
    const response = await fetch(`/orders/${encodeURIComponent(orderId)}/status`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) applyStatus(await response.json());
  }

  // --- payment ---------------------------------------------------------------------------------------
  $("pay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("code");
    const code = input.value.trim();
    if (!/^[0-9]{5}$/.test(code)) { $("payment-error").textContent = "The payment code is exactly 5 digits, like 12345."; return; }
    $("pay-button").disabled = true;
    const response = await fetch(`/orders/${encodeURIComponent(orderId)}/payment`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
      body: JSON.stringify({ code }),
    });
    const body = await response.json().catch(() => ({}));
    input.value = "";
    if (response.ok) applyStatus(body);
    else { $("payment-error").textContent = body.error || `The payment was not accepted (${response.status}).`; refreshStatus(); }
  });

  // --- live: the order's and the flight's streams ------------------------------------------------------
  function follow(url, handlers) {
    let source = null;
    const open = () => {
      source = new EventSource(url);
      for (const [type, handle] of Object.entries(handlers)) {
        source.addEventListener(type, (event) => { $("live").hidden = true; handle(JSON.parse(event.data)); });
      }
      source.onerror = () => {
        $("live").hidden = false;
        if (source.readyState === EventSource.CLOSED) setTimeout(open, 2000); // the browser gave up: start over
      };
    };
    open();
  }

  follow(`/orders/${encodeURIComponent(orderId)}/events`, { status: applyStatus });
  follow(`/flights/${encodeURIComponent(flight)}/events`, {
    availability: (a) => { held.clear(); booked.clear(); a.held.forEach((s) => held.add(s)); a.confirmed.forEach((s) => booked.add(s)); drawSeats(); },
    seats: (c) => {
      c.available.forEach((s) => { held.delete(s); booked.delete(s); });
      c.held.forEach((s) => held.add(s));
      c.confirmed.forEach((s) => { held.delete(s); booked.add(s); });
      drawSeats();
    },
  });

  document.getElementById("seat-form").addEventListener("change", (event) => {
    if (event.target.matches("input[name=seats]")) onSeatChange(event);
  });
  document.getElementById("seat-form").addEventListener("submit", (event) => event.preventDefault());
  setInterval(tick, 250);
  draw();
})();
