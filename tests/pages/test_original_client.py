"""A page written the original system's way keeps working: served from its own origin (as the original's
UI was, beside its API), `fetch` without credentials, and `new EventSource(url)` with `onmessage`. The one
change docs/migrating.md asks for is made: the order's token, as a header on calls and in the stream's URL."""

import os
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.http import free_port
from tests.pages.tools import OUTCOME_TIMEOUT_MS, open_page

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINAL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Original client</title></head>
<body>
<p id="state">Connecting to order stream…</p>
<ol id="seen"></ol>
<script>
const API = "%(api)s";
const orderID = "o-" + Date.now();
function post(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token; // the one addition: the order's token
  return fetch(API + path, { method: "POST", headers, body: JSON.stringify(body) });
}
(async () => {
  const { token } = await (await post("/orders", { flightID: "FL-001", orderID })).json();
  const source = new EventSource(`${API}/orders/${orderID}/events?token=${encodeURIComponent(token)}`);
  let step = "create";
  source.onmessage = (event) => {
    const status = JSON.parse(event.data);
    document.getElementById("state").textContent = status.State;
    const item = document.createElement("li");
    item.textContent = `${status.State} ${status.Seats.join(",")}`;
    document.getElementById("seen").append(item);
    if (status.State === "PENDING" && step === "create") {
      step = "seats";
      post(`/orders/${orderID}/seats`, { seats: ["1A", "1B"] }, token);
    } else if (status.State === "SEATS_SELECTED" && step === "seats") {
      step = "pay";
      post(`/orders/${orderID}/payment`, { code: "12345" }, token);
    } else if (status.State === "CONFIRMED") {
      source.close();
    }
  };
})();
</script>
</body></html>
"""


class PageServer(BaseHTTPRequestHandler):
    """The original's UI server (its Vite dev server, in the original): one static page."""

    def __init__(self, *args, page: bytes, **kwargs) -> None:
        self.page = page
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format, *args) -> None:
        pass


def test_a_page_written_the_original_way_books_pays_and_sees_confirmed_through_onmessage(site):
    from playwright.sync_api import expect

    page_port = free_port()
    page_origin = f"http://127.0.0.1:{page_port}"
    site.start(CORS_ALLOWED_ORIGINS=page_origin)  # the API allows the UI's origin, as an integrator sets it
    handler = partial(PageServer, page=(ORIGINAL_PAGE % {"api": site.base}).encode())
    server = ThreadingHTTPServer(("127.0.0.1", page_port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = open_page(site)
        page.goto(page_origin + "/")
        expect(page.locator("#state")).to_have_text("CONFIRMED", timeout=OUTCOME_TIMEOUT_MS)
        seen = page.locator("#seen li").all_text_contents()
        assert seen[0] == "PENDING " and "SEATS_SELECTED 1A,1B" in seen and seen[-1] == "CONFIRMED 1A,1B", seen
    finally:
        server.shutdown()
        server.server_close()
