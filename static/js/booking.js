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
  // Server time = Date.now() + clockOffset; the server read its clock between this page's request and the
  // start of its answer: the middle of the two is the nearer guess.
  const navigation = performance.getEntriesByType("navigation")[0];
  const readAt = navigation ? performance.timeOrigin + (navigation.requestStart + navigation.responseStart) / 2 : Date.now();
  const clockOffset = Date.parse(root.dataset.serverNow) - readAt;
  const holdMs = (Number(root.dataset.holdSeconds) || Infinity) * 1000;
  const localClock = new Intl.DateTimeFormat(document.documentElement.lang || undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const csrf = document.querySelector("#seat-form [name=csrfmiddlewaretoken]").value;
  const $ = (id) => document.getElementById(id);
  const words = JSON.parse($("page-words").textContent); // the server's words for states (orders/wording.py)
  const seats = new Map([...document.querySelectorAll(".seat")].map((el) => [el.dataset.seat, el]));
  const FINAL_STATES = new Set(Object.keys(words.finals));
  const W = words.page; // the script's own words, in the page's language (orders/wording.py SCRIPT_WORDS)
  const ANNOUNCE_AT = [[300, W.fiveMinutes], [60, W.oneMinute]];
  // An amount as the server writes it in the page's language (core/money.py): "258.00 EUR", "258,00 EUR".
  const amountFormat = new Intl.NumberFormat(document.documentElement.lang || undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false });
  const money = (value, currency) => `${amountFormat.format(Number(value))} ${currency}`;

  let status = JSON.parse($("status-data").textContent);
  let shownState = status.State; // the state last drawn, to notice the moment the booking ends
  const held = new Set(); // seats held by anyone, as the flight's stream says
  const booked = new Set();
  for (const [label, el] of seats) {
    if (el.dataset.state === "held" || el.dataset.state === "mine") held.add(label);
    if (el.dataset.state === "booked" || el.dataset.state === "mine-booked") booked.add(label);
  }

  function announce(text) { // the one live region that speaks news the traveller did not ask for
    $("announcer").textContent = "";
    setTimeout(() => { $("announcer").textContent = text; }, 50);
  }

  // --- seat map -------------------------------------------------------------------------------------
  const pending = new Set(); // seats clicked, not yet answered by the server
  const lastClick = new Map();
  let sending = false;
  let sendTimer = null;

  function mine() { return new Set(status.Seats); }
  function canChange() { return words.openStates.includes(status.State) && !holdLapsed(); }

  function seatState(label) {
    if (mine().has(label)) return status.State === "CONFIRMED" ? "mine-booked" : "mine";
    if (booked.has(label)) return "booked";
    if (held.has(label)) return "held";
    return "available";
  }

  // A seat's accessible name: where it is (the server's words, data-place) and its state.
  function seatName(el, state) {
    return `${el.dataset.place}, ${words.seats[state]}${pending.has(el.dataset.seat) ? `, ${W.saving}` : ""}`;
  }

  function drawSeats() {
    const wanted = mine();
    for (const [label, el] of seats) {
      const state = seatState(label);
      const input = el.querySelector("input");
      el.dataset.state = state;
      el.classList.toggle("pending", pending.has(label));
      if (!pending.has(label)) input.checked = wanted.has(label);
      // Taken seats stay focusable (arrow keys pass over them and say whose they are) but do nothing.
      input.disabled = false;
      input.setAttribute("aria-disabled", String(!canChange() || state === "held" || state === "booked"));
      input.setAttribute("aria-label", seatName(el, state));
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

  function sendSelection() {
    const wanted = [...seats.values()].filter((el) => el.querySelector("input").checked).map((el) => el.dataset.seat);
    sendSeats(wanted, new Set(pending));
  }

  // Ask for `wanted` as the whole selection (a seat change, or the same seats again for more time). The whole
  // selection is safe to send again; with no answer by the timeout, the seats go back to what the server said.
  async function sendSeats(wanted, asked) {
    if (sending) { sendTimer = setTimeout(() => sendSeats(wanted, asked), 50); return; }
    sending = true;
    try {
      const result = await request("seats", { payload: { seats: wanted }, retry: true });
      const body = result.body;
      if (result.ok) {
        applyStatus(body);
      } else {
        if (body.code === "seats_taken" && Array.isArray(body.seats)) body.seats.forEach((s) => held.add(s));
        $("seat-error").textContent = result.answered ? result.message : C.seatsNoAnswer;
        if (body.code === "hold_expired" || body.code === "wrong_state") refreshStatus();
      }
    } finally {
      asked.forEach((s) => pending.delete(s));
      sending = false;
      drawSeats();
    }
  }

  // --- keyboard: the map is one tab stop; arrow keys move inside it (a grid with a roving tab index) ---
  const grid = $("seatmap");
  const gridRows = [...grid.querySelectorAll(".seatrow:not(.letters)")].map((row) => [...row.querySelectorAll("input")]);
  let current = null;

  function rove(input, focus) {
    if (current) current.tabIndex = -1;
    current = input;
    current.tabIndex = 0;
    if (focus) current.focus();
  }

  grid.addEventListener("keydown", (event) => {
    if (!current) return;
    let r = gridRows.findIndex((row) => row.includes(current));
    let c = gridRows[r].indexOf(current);
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (event.key === "Home") c = 0;
    else if (event.key === "End") c = gridRows[r].length - 1;
    else if (moves[event.key]) { r += moves[event.key][0]; c += moves[event.key][1]; }
    else if (event.key === "Enter") { event.preventDefault(); current.click(); return; }
    else return;
    event.preventDefault();
    if (r < 0 || r >= gridRows.length || c < 0 || c >= gridRows[r].length) return;
    rove(gridRows[r][c], true);
  });
  grid.addEventListener("focusin", (event) => { if (event.target.matches("input")) rove(event.target, false); });
  grid.addEventListener("click", (event) => { // a taken seat does nothing (aria-disabled keeps it focusable)
    if (event.target.matches("input[aria-disabled=true]")) event.preventDefault();
  });
  for (const input of grid.querySelectorAll("input")) input.tabIndex = -1;
  rove(grid.querySelector("input:checked") || gridRows[0][0], false);

  // --- status: badge, countdown, payment, final screen ----------------------------------------------
  function holdLapsed() {
    return status.State === "SEATS_SELECTED" && status.HoldExpiresAt &&
      Date.parse(status.HoldExpiresAt) <= Date.now() + clockOffset;
  }

  function applyStatus(next) {
    if (!next || next.OrderID !== orderId) return;
    if (next.HoldExpiresAt !== status.HoldExpiresAt) lastLeft = null; // a new deadline: count afresh
    status = next;
    if (!ENDED_UNPAID.includes(next.State)) endedSeats = next.Seats;
    draw();
  }

  // The ended booking's seats, which the final screen names and offers to hold again: the status stops
  // naming them once a booking ends unpaid, so they are the last open status's (or the page's, data-seats).
  const ENDED_UNPAID = ["FAILED", "EXPIRED", "CANCELLED"];
  let endedSeats = ENDED_UNPAID.includes(status.State) ? ($("final").dataset.seats || "").split(",").filter(Boolean) : status.Seats;
  const filled = (text, values) => text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));

  function paymentProblem(reason) { // as orders/wording.py payment_problem
    return reason.includes("declined") ? "declined" : /timeout|did not answer/.test(reason) ? "timeout" : "error";
  }

  function paymentReasons(error) { // as orders/wording.py payment_reasons
    const reasons = [];
    for (const match of error.matchAll(/attempt \d+: ([^;]+?)(?=; attempt \d+:|\)\. Seats released\.$)/g)) {
      const said = words.ended.problems[paymentProblem(match[1])];
      if (!reasons.includes(said)) reasons.push(said);
    }
    return reasons.length ? ` (${reasons.join("; ")})` : "";
  }

  // The final screen's text and its "hold again" button (orders/wording.py outcome, from page-words "ended").
  function finalWords(state) {
    if (state === "CONFIRMED") return { text: filled(W.booked, { seats: status.Seats.join(", "), flight }), again: "" };
    const ended = words.ended[!endedSeats.length ? "none" : endedSeats.length === 1 ? "one" : "other"];
    const values = { seats: endedSeats.join(", "), why: paymentReasons(status.LastPaymentErr || "") };
    return { text: filled(ended[state], values), again: filled(ended.again, values) };
  }

  function drawPayment(state) {
    const payable = state === "SEATS_SELECTED" && !paying && allNamed();
    $("code").disabled = !payable;
    $("pay-button").disabled = !payable;
    const amount = money(status.Total, status.Currency);
    $("pay-button").textContent = status.Seats.length ? filled(W.payAmount, { amount }) : W.pay;
    $("summary-total").textContent = filled(W.total, { amount });
    $("summary-total").hidden = !status.Seats.length;
    drawPayWhy(state === "PENDING" ? "seats" : state === "SEATS_SELECTED" && !allNamed() ? "names" : "");
    // The try that runs now (AttemptsLeft counts it as used once it starts), shown only while paying.
    $("attempt-number").textContent = Math.max(1, maxAttempts - status.AttemptsLeft);
    $("attempts").hidden = state !== "PROCESSING_PAYMENT";
    const used = maxAttempts - status.AttemptsLeft;
    let progress = "";
    if (state === "PROCESSING_PAYMENT") {
      progress = used === 0 ? W.starting
        : filled(status.PaymentStatus === "retrying" ? W.retrying : W.paying, { used, max: maxAttempts });
    }
    if ($("progress").textContent !== progress) $("progress").textContent = progress;
  }

  function drawFinal(state) {
    const title = words.finals[state];
    $("summary").hidden = Boolean(title);
    $("more").hidden = Boolean(title);
    $("final").hidden = !title;
    $("final").dataset.state = state;
    $("confirmed-extra").hidden = state !== "CONFIRMED";
    $("booking-reference").textContent = status.Reference || "";
    if (!title) return;
    const { text, again } = finalWords(state);
    $("final-title").textContent = title;
    $("final-text").textContent = text;
    $("hold-again-form").hidden = !again;
    $("hold-again-button").textContent = again;
    $("new-booking-button").classList.toggle("secondary", Boolean(again));
    if (shownState !== state) { // it ended just now, on this page: say so and go there
      const reference = state === "CONFIRMED" && status.Reference ? ` ${filled(W.reference, { reference: status.Reference })}` : "";
      announce(`${title} ${text}${reference}`);
      $("final-title").focus();
    }
  }

  function draw() {
    const state = holdLapsed() ? "EXPIRED" : status.State;
    const badge = $("state");
    badge.textContent = words.states[state];
    badge.dataset.state = state;
    $("your-seats").textContent = status.Seats.length ? status.Seats.join(", ") : W.noSeats;
    drawPayment(state);
    $("cancel").hidden = !canChange();
    const extend = $("extend-form");
    extend.querySelectorAll("input[name=seats]").forEach((el) => el.remove());
    status.Seats.forEach((label) => extend.insertAdjacentHTML("beforeend", `<input type="hidden" name="seats" value="${label}">`));
    drawFinal(state);
    drawPassengers(state);
    shownState = state;
    $("seat-form").querySelector("fieldset").disabled = !canChange();
    $("best-form").hidden = !canChange();
    reproposeIfSeatsChanged();
    if (!canChange()) $("seat-legend").textContent = W.seatMap;
    drawSeats();
    tick();
  }

  let lastLeft = null; // seconds left at the previous tick, to announce only as a threshold is crossed
  function tick() {
    const box = $("countdown");
    const counting = (status.State === "SEATS_SELECTED" || status.State === "EXPIRED") && status.HoldExpiresAt;
    box.toggleAttribute("data-off", !counting);
    if (!counting) { lastLeft = null; return; }
    const expiresAt = Date.parse(status.HoldExpiresAt);
    // Expired (the server said so before this clock got there): show the zero.
    // The offset is an estimate (the server read its clock somewhere between request and answer), so a fresh
    // hold could read a little over its length and show 00:21 for 20 s: never more than the hold's length.
    const left = status.State === "EXPIRED" ? 0 : Math.min(holdMs, Math.max(0, expiresAt - (Date.now() + clockOffset)));
    const seconds = Math.ceil(left / 1000);
    $("countdown-time").textContent = `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
    const deadline = $("deadline");
    if (deadline.dataset.shown !== status.HoldExpiresAt) { // in the traveller's own time (the server's: the airport's)
      deadline.dataset.shown = deadline.dateTime = status.HoldExpiresAt;
      deadline.textContent = localClock.format(new Date(expiresAt));
    }
    box.dataset.phase = left <= 0 ? "expired" : left <= 60000 ? "warning" : "ok";
    for (const [at, text] of ANNOUNCE_AT) if (lastLeft !== null && lastLeft > at && seconds <= at && seconds > 0) announce(text);
    lastLeft = seconds;
    if (left <= 0 && $("state").dataset.state !== "EXPIRED") draw(); // the hold is over: say so at once
  }

  async function refreshStatus() { // unanswered: the streams reconnect, and call again once back
    const result = await request("status", { retry: true });
    if (result.ok) applyStatus(result.body);
  }

  // --- payment and more time ---------------------------------------------------------------------------
  let paying = false; // a payment request is on its way
  $("pay-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("code");
    const code = input.value.trim();
    if (!/^[0-9]{5}$/.test(code)) { $("payment-error").textContent = W.paymentCode; return; }
    $("payment-error").textContent = "";
    paying = true;
    draw();
    // One key per press: a retry of this press is answered once (core/idempotency.py); a new press is new.
    const result = await request("payment", { payload: { code }, retry: true, key: newKey() });
    paying = false;
    if (result.answered) input.value = "";
    if (result.ok) applyStatus(result.body);
    else {
      $("payment-error").textContent = result.answered ? result.message : C.payNoAnswer;
      refreshStatus();
    }
    draw();
  });

  $("extend-form").addEventListener("submit", (event) => {
    event.preventDefault();
    $("seat-error").textContent = "";
    sendSeats([...status.Seats], new Set());
  });

  // --- passengers: a name for each held seat and a contact email, before Pay ----------------------------
  const P = words.passengers;
  const nameRe = new RegExp(words.namePattern, "u");
  const emailRe = new RegExp(words.emailPattern); // the server's own rule: the page never passes what it refuses
  const typed = (value) => value.normalize("NFC").split(/\s+/).filter(Boolean).join(" "); // as the form handler reads it

  function allNamed() {
    const named = new Set(status.Passengers.map((p) => p.seat));
    return status.Seats.length > 0 && status.Seats.every((s) => named.has(s));
  }

  function drawPayWhy(why) { // why Pay is closed, beside it (orders/wording.py PAY_WHY)
    const box = $("pay-why");
    if (box.dataset.why === why) return;
    box.dataset.why = why;
    box.textContent = "";
    if (why === "names") {
      const link = document.createElement("a");
      link.href = "#passengers";
      link.textContent = words.payWhy.names;
      box.append(link);
    } else if (why) box.textContent = words.payWhy[why];
  }

  // Names given for seats since let go (or taken meanwhile before a booking was held again): each fills the
  // next seat chosen without a name, as the server fills the form (orders/selectors.py waiting_passengers).
  const waiting = JSON.parse($("waiting-passengers").textContent);

  function passengerRow(seat) { // as booking.html draws one
    const given = status.Passengers.find((p) => p.seat === seat) || waiting.shift() || {};
    const row = document.createElement("fieldset");
    row.className = "passenger";
    row.dataset.seat = seat;
    row.innerHTML = '<legend></legend><input type="hidden" name="seat">';
    row.querySelector("legend").textContent = filled(W.seat, { seat });
    row.querySelector("input").value = seat;
    for (const [field, key, label, auto] of [["firstName", "first", W.firstName, "given-name"], ["lastName", "last", W.lastName, "family-name"]]) {
      const id = `${key}-${seat}`;
      const line = document.createElement("p");
      line.className = "field";
      line.innerHTML = `<label for="${id}"></label><input id="${id}" name="${key}_name" required maxlength="64" autocomplete="${auto}" data-field="${field}"><span class="field-error" id="${id}-error"></span>`;
      line.querySelector("label").textContent = label;
      line.querySelector("input").value = given[field] || "";
      row.append(line);
    }
    return row;
  }

  function drawPassengers(state) {
    $("passengers").hidden = state !== "SEATS_SELECTED";
    const box = $("passenger-rows");
    const rows = new Map([...box.querySelectorAll(".passenger")].map((row) => [row.dataset.seat, row]));
    status.Seats.forEach((seat, n) => {
      const row = rows.get(seat) || passengerRow(seat);
      rows.delete(seat);
      if (box.children[n] !== row) box.insertBefore(row, box.children[n] || null);
    });
    rows.forEach((row) => { // seats let go: their names wait for the next seat chosen
      const [first, last] = [...row.querySelectorAll("input[data-field]")].map((input) => input.value.trim());
      if (first && last) waiting.push({ firstName: first, lastName: last });
      row.remove();
    });
    if (!$("contact-email").value && status.ContactEmail) $("contact-email").value = status.ContactEmail;
  }

  function setFieldError(input, text) {
    const error = $(`${input.id}-error`);
    error.textContent = text;
    if (text) { input.setAttribute("aria-invalid", "true"); input.setAttribute("aria-describedby", error.id); }
    else { input.removeAttribute("aria-invalid"); input.removeAttribute("aria-describedby"); }
    if (text && input === document.activeElement) requestAnimationFrame(() => keepAboveBar(input)); // no focusin
  }

  function checkPassengers() { // the server's rules first, so that each error shows beside its field
    const wrong = [];
    for (const input of $("passenger-form").querySelectorAll("input[data-field]")) {
      const value = input.dataset.field === "email" ? input.value.trim() : typed(input.value);
      let text = "";
      if (input.dataset.field === "email") text = value && input.checkValidity() && emailRe.test(value) ? "" : P.email;
      else if (!value) text = P[input.dataset.field];
      else if (!nameRe.test(value)) text = P.name;
      setFieldError(input, text);
      if (text) wrong.push(input);
    }
    return wrong;
  }

  function showServerFieldErrors(fields) { // a 400's `fields`: the email, or a name when one seat is named
    const inputs = [...$("passenger-form").querySelectorAll("input[data-field]")];
    const said = (value) => (Array.isArray(value) ? value.join(" ") : "");
    const wrong = [];
    if (fields && fields.email) wrong.push([$("contact-email"), said(fields.email)]);
    const names = fields && fields.passengers;
    if (names && !Array.isArray(names) && $("passenger-rows").children.length === 1) {
      for (const field of ["firstName", "lastName"]) {
        if (names[field]) wrong.push([inputs.find((i) => i.dataset.field === field), said(names[field]).replace(/^\w+: /, "")]);
      }
    }
    wrong.forEach(([input, text]) => setFieldError(input, text || P[input.dataset.field]));
    if (wrong.length) wrong[0][0].focus();
  }

  $("passenger-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("passenger-error").textContent = "";
    $("passenger-saved").textContent = "";
    const wrong = checkPassengers();
    if (wrong.length) {
      $("passenger-error").textContent = (wrong.length === 1 ? P.problem : P.problems).replace("{count}", wrong.length);
      wrong[0].focus();
      return;
    }
    const passengers = [...$("passenger-rows").querySelectorAll(".passenger")].map((row) => ({
      seat: row.dataset.seat,
      firstName: typed(row.querySelector("[data-field=firstName]").value),
      lastName: typed(row.querySelector("[data-field=lastName]").value),
    }));
    const result = await post("passengers", { passengers, email: $("contact-email").value.trim() });
    if (result.ok) {
      applyStatus(result.body);
      $("passenger-saved").textContent = P.saved;
    } else {
      $("passenger-error").textContent = result.message;
      showServerFieldErrors(result.body.fields);
      if (result.body.code === "wrong_state" || result.body.code === "hold_expired") refreshStatus();
    }
  });
  $("passenger-form").addEventListener("input", () => { $("passenger-saved").textContent = ""; });

  // --- find N seats together: the server proposes, the traveller holds ----------------------------------
  // "Find seats together" asks for a proposal (GET /orders/{id}/seats/best: nothing is held) and says the
  // seats, their zones and their price against the seats held now; "Hold these seats" sends exactly them
  // as the whole selection (the ordinary seat change); one taken meanwhile brings a fresh proposal.
  const B = words.best;
  let finding = false;
  let proposal = null; // the proposal shown (the API's answer) and what was asked for it: {count, zone}

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));
  const amountText = money; // orders/wording.py amount()

  function proposalText(p) { // as orders/wording.py proposal_words says it
    const zones = p.zones.map((zone) => B.zoneNames[zone] || zone);
    const where = zones.length > 1 ? fill(B.zones, { first: zones.slice(0, -1).join(", "), last: zones[zones.length - 1] }) : zones[0];
    const key = !p.heldSeats.length ? "alone" : p.difference.startsWith("-") ? "less" : /[1-9]/.test(p.difference) ? "more" : "same";
    return fill(B[key], {
      seats: p.seats.join(", "), zones: where, total: amountText(p.total, p.currency),
      difference: amountText(p.difference.replace(/^-/, ""), p.currency),
    });
  }

  function showProposal(next, lead) {
    proposal = next;
    $("best-proposal").hidden = !next;
    $("best-proposal-text").textContent = next ? [lead, proposalText(next)].filter(Boolean).join(" ") : "";
    $("best-proposal-seats").replaceChildren(...(next ? next.seats : []).map((label) => Object.assign(document.createElement("input"), { type: "hidden", name: "seats", value: label })));
  }

  async function propose(asked, lead, focus = true) {
    const query = new URLSearchParams({ count: String(asked.count) });
    if (asked.zone) query.set("zone", asked.zone);
    const result = await get(`seats/best?${query}`);
    if (result.ok) {
      showProposal({ ...result.body, asked }, lead);
      if (focus) $("best-hold").focus(); // its description is the proposal: a screen reader says both
    } else {
      showProposal(null);
      $("best-error").textContent = result.message;
      if (result.body.code === "wrong_state" || result.body.code === "hold_expired") refreshStatus();
    }
  }

  async function holdProposal() {
    const { seats: labels, asked } = proposal;
    while (sending) await new Promise((resolve) => { setTimeout(resolve, 50); }); // after a seat change on its way
    sending = true;
    const result = await post("seats", { seats: labels });
    sending = false;
    if (result.ok) {
      const focused = document.activeElement === $("best-hold");
      showProposal(null);
      if (focused) $("best-button").focus(); // not lost with the proposal: the map is the next stop
      applyStatus(result.body);
      announce(fill(B.held, { seats: result.body.Seats.join(", ") }));
      if (typeof showSeats === "function") showSeats(result.body.Seats); // scrolled into view and highlighted
      return;
    }
    if (result.body.code === "seats_taken" && Array.isArray(result.body.seats)) {
      result.body.seats.forEach((s) => held.add(s));
      drawSeats();
      await propose(asked, fill(B.taken, { seats: result.body.seats.join(", ") }));
      return;
    }
    $("best-error").textContent = result.message;
    if (result.body.code === "wrong_state" || result.body.code === "hold_expired") refreshStatus();
  }

  $("best-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (finding) return;
    finding = true;
    $("best-error").textContent = "";
    $("seat-error").textContent = "";
    try {
      if (event.submitter && event.submitter.id === "best-hold" && proposal) await holdProposal();
      else await propose({ count: Number($("best-count").value), zone: $("best-zone") ? $("best-zone").value : "" });
    } finally {
      finding = false;
    }
  });
  if (!$("best-proposal").hidden) { // proposed by the form before this script ran: its seats are in the form
    const labels = [...$("best-proposal-seats").querySelectorAll("input")].map((input) => input.value);
    proposal = { seats: labels, heldSeats: [...status.Seats], asked: { count: Number($("best-count").value), zone: $("best-zone") ? $("best-zone").value : "" } };
  }
  function reproposeIfSeatsChanged() { // the proposal compares with the seats held: when they change, ask again
    if (proposal && !finding && proposal.heldSeats.join() !== status.Seats.join()) propose(proposal.asked, "", false);
  }
  $("best-again").addEventListener("click", (event) => { // choose again: the proposal goes, nothing was held
    event.preventDefault();
    showProposal(null);
    $("best-count").focus();
  });

  // --- requests: every call to the order's API (the calls the integrators use) goes through request() -----
  // {ok, answered, status, body, message}. A call gives up REQUEST_TIMEOUT_MS after it started, its retries
  // included. With `retry`, a call that got no answer (the connection failed) or was told to come back (503,
  // or a payment's first send still running) goes again within that time: only calls that are safe to
  // repeat (a read, a whole selection, all the passengers, or a payment under its one Idempotency-Key).
  const C = words.connection;
  const REQUEST_TIMEOUT_MS = Number(root.dataset.requestTimeout || 8) * 1000;
  const RETRY_PAUSE_MS = 1000;

  async function request(path, { payload, retry = false, key = "" } = {}) {
    const deadline = performance.now() + REQUEST_TIMEOUT_MS;
    const headers = { Accept: "application/json" };
    if (payload !== undefined) Object.assign(headers, { "Content-Type": "application/json", "X-CSRFToken": csrf });
    if (key) headers["Idempotency-Key"] = key;
    for (;;) {
      const result = await sendOnce(path, payload, headers, deadline);
      const pause = result.answered ? comeBackAfter(result) : RETRY_PAUSE_MS;
      if (!retry || pause === null || performance.now() + pause >= deadline - 500) return result;
      await new Promise((resolve) => { setTimeout(resolve, pause); });
    }
  }

  async function sendOnce(path, payload, headers, deadline) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, deadline - performance.now()));
    try {
      const response = await fetch(`/orders/${encodeURIComponent(orderId)}/${path}`, {
        method: payload === undefined ? "GET" : "POST", credentials: "same-origin", headers, signal: controller.signal,
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
      const body = await response.json().catch(() => ({}));
      if (controller.signal.aborted) throw controller.signal.reason; // timed out while its body was on the way
      connectionIs("request", true);
      const retryAfter = Number(response.headers.get("Retry-After")) || 0;
      return { ok: response.ok, answered: true, status: response.status, body, retryAfter, message: refusalText(body, response.status, retryAfter) };
    } catch (error) { // no answer: the server is away, the connection dropped, or the timeout came first
      connectionIs("request", false);
      return { ok: false, answered: false, status: 0, body: {}, retryAfter: 0, message: C.noAnswer };
    } finally {
      clearTimeout(timer);
    }
  }

  function comeBackAfter(result) { // an answer that says "again, later": how much later (ms); else null
    if (result.status === 503 || result.body.code === "idempotency_key_in_use") return Math.max(1, result.retryAfter) * 1000;
    return null;
  }

  function refusalText(body, status, retryAfter) { // the page's words for the code when it has them (orders/error_words.py)
    const own = words.errors && words.errors[body.code];
    if (!own) return body.error || C.refused.replace("{status}", status);
    const values = { ...body, retry_after: retryAfter || 1 };
    return own.replace(/\{(\w+)\}/g, (all, name) => (name in values ? [].concat(values[name]).join(", ") : all));
  }

  function newKey() { // an Idempotency-Key: 128 random bits
    return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function get(path) { return request(path, { retry: true }); }
  // The page's POSTs through here each replace a whole (the seats, all the passengers): safe to repeat.
  function post(path, payload) { return request(path, { payload, retry: true }); }

  // Phones: the summary bar sticks to the bottom; a field focused by Tab scrolls above it, not under it.
  if (window.ResizeObserver) {
    new ResizeObserver(() => {
      document.documentElement.style.setProperty("--bar-height", `${$("summary").offsetHeight + 8}px`);
    }).observe($("summary"));
  }
  // The browser scrolls only the field itself into view: its label and its error below come along too.
  // (Only a form's field: a tapped seat never moves under the finger.)
  function keepAboveBar(field) {
    const bar = $("summary");
    const block = field.closest(".field");
    if (!block || bar.contains(field) || bar.hidden || getComputedStyle(bar).position !== "sticky") return;
    const box = block.getBoundingClientRect();
    const by = Math.min(box.bottom - (bar.getBoundingClientRect().top - 8), box.top - 8);
    if (by > 0) window.scrollBy(0, by);
  }
  document.addEventListener("focusin", (event) => {
    requestAnimationFrame(() => keepAboveBar(event.target)); // after the browser's own scrolling
  });

  // Seats the server chose (seats together, holding again): brought into view and marked for a moment.
  let chosenTimer = null;
  function showSeats(labels) {
    const chosen = labels.map((label) => seats.get(label)).filter(Boolean);
    if (!chosen.length) return;
    const still = matchMedia("(prefers-reduced-motion: reduce)").matches;
    chosen[0].scrollIntoView({ block: "center", inline: "center", behavior: still ? "auto" : "smooth" });
    document.querySelectorAll(".seat.chosen").forEach((el) => el.classList.remove("chosen"));
    chosen.forEach((el) => el.classList.add("chosen"));
    rove(chosen[0].querySelector("input"), false); // the map's one tab stop is where the seats are
    clearTimeout(chosenTimer);
    chosenTimer = setTimeout(() => chosen.forEach((el) => el.classList.remove("chosen")), 2500);
  }

  // --- the connection: said beside the summary while anything does not reach the server ------------------
  // Down: a stream that errs or hears nothing for 2.5 keep-alive intervals, or a request with no answer;
  // any answer from the server brings the request side back. Said once down for LOST_AFTER_MS (a server's
  // restart takes half a second: not worth a word). Once all is back: the status read afresh, the errors
  // that only said the server did not answer cleared, and "Back online" if the loss was said.
  const LOST_AFTER_MS = 1500;
  const down = new Set(); // "request", or a stream's name
  let lostTimer = null;
  let backTimer = null;

  function connectionIs(what, up) {
    const wasDown = down.size > 0;
    if (up) down.delete(what); else down.add(what);
    if (up && what !== "request") down.delete("request"); // a stream's event is an answer too
    if (wasDown === down.size > 0) return;
    clearTimeout(lostTimer);
    clearTimeout(backTimer);
    if (!wasDown) { lostTimer = setTimeout(() => sayConnection("lost", C.lost), LOST_AFTER_MS); return; }
    for (const id of ["seat-error", "payment-error", "best-error", "passenger-error"]) {
      if ([C.noAnswer, C.seatsNoAnswer, C.payNoAnswer].includes($(id).textContent)) $(id).textContent = "";
    }
    refreshStatus();
    if ($("connection").dataset.state === "lost") sayConnection("back", C.back);
    backTimer = setTimeout(() => sayConnection("", ""), 4000);
  }

  function sayConnection(state, text) {
    const box = placeConnection();
    if (state) box.dataset.state = state; else delete box.dataset.state;
    box.textContent = text;
  }

  function placeConnection() { // in the summary; when the outcome takes its place, in the outcome
    const box = $("connection");
    const host = $("summary").hidden ? $("final") : $("summary");
    if (box.parentElement !== host) host.prepend(box);
    return box;
  }
  new MutationObserver(placeConnection).observe($("summary"), { attributes: true, attributeFilter: ["hidden"] });

  // --- live: the order's and the flight's streams ------------------------------------------------------
  // Each stream sends a keep-alive event every KEEPALIVE_MS when idle: silence for 2.5 of them is a
  // connection that went quiet (no error comes from a network that drops everything). The stream is then
  // opened afresh, resuming after the last event it had (?lastEventId=).
  const KEEPALIVE_MS = Number(root.dataset.keepalive || 10) * 1000;
  function follow(name, url, handlers) {
    let source = null;
    let heard = 0; // when the stream last said anything
    let lastId = "";
    const alive = (event) => {
      heard = performance.now();
      if (event.lastEventId) lastId = event.lastEventId;
      connectionIs(name, true);
    };
    const open = () => {
      if (source) source.close();
      heard = performance.now();
      source = new EventSource(lastId ? `${url}?lastEventId=${encodeURIComponent(lastId)}` : url);
      source.onopen = alive;
      for (const type of ["stream-open", "keep-alive", "server-stopping"]) source.addEventListener(type, alive);
      for (const [type, handle] of Object.entries(handlers)) {
        source.addEventListener(type, (event) => { alive(event); handle(JSON.parse(event.data)); });
      }
      source.onerror = () => {
        connectionIs(name, false);
        if (source.readyState === EventSource.CLOSED) setTimeout(open, 2000); // the browser gave up: start over
      };
    };
    open();
    setInterval(() => {
      if (performance.now() - heard < 2.5 * KEEPALIVE_MS) return;
      connectionIs(name, false);
      open();
    }, Math.min(1000, KEEPALIVE_MS / 2));
  }

  follow("order", `/orders/${encodeURIComponent(orderId)}/events`, { message: applyStatus }); // statuses are unnamed events
  follow("flight", `/flights/${encodeURIComponent(flight)}/events`, {
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
