"""Tokens stay secret: out of every process's log, out of the address bar, out of every cache.

- logs: every process of `make run` (Procfile) and of the deployed layout (Procfile.cluster) runs while a
  traveller's flows carry tokens in every way they travel (the create's answer, `?token=` on the status,
  the stream and the pages, a stream ticket, the receipt, find my booking's link, a form posted from a
  tokened URL without its CSRF token, a request with a Host header the service does not serve), in the
  text and the JSON format at DEBUG; no secret appears in anything any process wrote;
- the log pipeline itself, as settings.LOGGING builds it: whatever a logger is handed (a URL, a request,
  a header, a traceback) comes out redacted;
- a page opened with `?token=` puts the order in the browser's session and sends it on (303) to the same
  address without the token;
- `Cache-Control: no-store` on every answer that carries an order's data, through every door.
"""

import io
import json
import logging
import logging.config
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from http.client import HTTPConnection
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from core.logs import logging_config
from deploy import nginx
from orders import services
from tests.conftest import IN_CI, bearer
from tests.http import SSEStream, free_port, wait_for_server
from tests.processes import BASE_DIR, wait_until
from tests.processes import test_database_url as database_url
from tests.security.doors import lean_call
from tests.test_proxy import require_nginx

TOKEN = "xadRTzJDXsPoeY2OUJaXrqwBUpjX0HxCzmx1lDrNP1U"  # the shape of an order token
BOOKING = "b-" + "3f" * 32


# --- The log pipeline -----------------------------------------------------------------------------------


@pytest.fixture(params=["text", "json"])
def written(request):
    """What the service's console handler writes (settings.LOGGING's, in the given format), as text."""
    config = logging_config(log_format=request.param, level="DEBUG")
    out = io.StringIO()
    config["handlers"]["console"]["stream"] = out
    logging.config.dictConfig(config)
    yield out.getvalue
    logging.config.dictConfig(settings.LOGGING)


def test_no_secret_comes_out_of_the_log_pipeline_whatever_a_logger_is_handed(written):
    url = f"/booking/o-1/receipt?lang=en&token={TOKEN}"
    request = RequestFactory().get(f"/orders/o-1/events?token={BOOKING}", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    # uvicorn's access line (were it turned on), through its own logger
    logging.getLogger("uvicorn.access").warning('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", url, "1.1", 200)
    logging.getLogger("uvicorn.error").error("Exception in ASGI application: %s", url)
    # django.security's lines carry the request itself (the JSON format writes its repr: the full URL)
    logging.getLogger("django.security.csrf").warning(
        "Forbidden (%s): %s", "CSRF token missing", request.path, extra={"status_code": 403, "request": request}
    )
    logging.getLogger("core.anything").info("headers %s", dict(request.headers))
    logging.getLogger("core.anything").info("ticket=o-1:1tNx2a:%s sessionid=abc123 answer %s", TOKEN, {"token": TOKEN})
    try:
        raise ValueError(f"could not open {url}")
    except ValueError:
        logging.getLogger("core.anything").exception("failed")
    text = written()
    assert text.count("\n") >= 6, text
    for secret in (TOKEN, BOOKING, "abc123"):
        assert secret not in text, text
    assert "token=[redacted]" in text and "lang=en" in text, text  # what is not secret stays readable


# --- Every process's output while travellers' flows run --------------------------------------------------


class Browser:
    """A client with cookies that does not follow redirects (the flows read each answer)."""

    class NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), self.NoRedirects)

    def send(self, method: str, path: str, body=None, *, token: str | None = None, **headers) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Accept": "application/json", **headers}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with self.opener.open(urllib.request.Request(self.base + path, data, headers, method=method)) as answer:
                return answer.status, _json(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())


def _json(content: bytes) -> dict:
    try:
        return json.loads(content)
    except ValueError:
        return {}


def traveller_flows(base: str, streams: str) -> set[str]:
    """A booking over the API and in a browser, with tokens in every place they travel; the secrets used."""
    api, browser = Browser(base), Browser(base)
    status, created = api.send("POST", "/orders", {"flightID": "FL-001"})
    assert status == 201, created
    order, token = created["orderID"], created["token"]
    assert api.send("GET", f"/orders/{order}/status?token={token}")[0] == 200
    assert api.send("POST", f"/orders/{order}/seats", {"seats": ["3A"]}, token=token)[0] == 200
    names = {"passengers": [{"seat": "3A", "firstName": "Ada", "lastName": "Lovelace"}], "email": "ada@example.com"}
    assert api.send("POST", f"/orders/{order}/passengers", names, token=token)[0] == 200
    old_style = SSEStream(streams, f"/orders/{order}/events?token={token}")
    ticket = api.send("POST", f"/orders/{order}/events/ticket", {}, token=token)[1]["ticket"]
    with_ticket = SSEStream(streams, f"/orders/{order}/events?ticket={ticket}")
    assert (old_style.status, with_ticket.status) == (200, 200)
    assert browser.send("GET", f"/booking/{order}?token={token}", Accept="text/html")[0] == 303
    assert browser.send("GET", f"/booking/{order}/receipt?token={token}", Accept="text/html")[0] == 303
    # a form posted from a tokened address without its CSRF token, and a Host the service does not serve
    assert browser.send("POST", f"/booking/{order}/pay?token={token}", Accept="text/html")[0] == 403
    assert _wrong_host(base, f"/orders/{order}/status?token={token}") == 400
    assert api.send("POST", f"/orders/{order}/payment", {"code": "12345"}, token=token)[0] == 202
    wait_until(
        lambda: api.send("GET", f"/orders/{order}/status", token=token)[1]["State"] == "CONFIRMED",
        timeout=20,
        what="the payment",
    )
    reference = api.send("GET", f"/orders/{order}/status", token=token)[1]["Reference"]
    status, found = Browser(base).send("POST", "/bookings/find", {"reference": reference, "lastName": "Lovelace"})
    assert status == 200, found
    link = found["token"]
    assert browser.send("GET", f"/booking/{order}/receipt?token={link}", Accept="text/html")[0] == 303
    assert api.send("GET", f"/orders/{order}/status?token={link}")[0] == 200
    old_style.close()
    with_ticket.close()
    return {token, link, ticket.rsplit(":", 1)[1]}


def _wrong_host(base: str, path: str) -> int:
    host, port = base.removeprefix("http://").split(":")
    connection = HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path, headers={"Host": "mirror.example", "Accept": "application/json"})
    status = connection.getresponse().status
    connection.close()
    return status


def run_layout(layout: str, env: dict[str, str], log: str, *, direct: bool) -> subprocess.Popen:
    """honcho with the layout's Procfile; `direct`: the deployed one without its nginx (none here)."""
    procfile = str(BASE_DIR / layout)
    if direct:  # granian and uvicorn are reached directly instead
        procfile = env["NGINX_DIR"] + ".Procfile"
        lines = (BASE_DIR / layout).read_text().splitlines()
        Path(procfile).write_text("\n".join(line for line in lines if not line.startswith("nginx:")) + "\n")
    return subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/honcho"), "start", "-f", procfile, "-d", str(BASE_DIR)],
        cwd=BASE_DIR,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


@pytest.mark.postgres_only  # the layouts' processes share one database; the deployed one needs PostgreSQL
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("layout", "log_format"), [("Procfile", "text"), ("Procfile", "json"), ("Procfile.cluster", "json")]
)
def test_no_process_of_either_layout_writes_a_secret_while_travellers_book(
    transactional_db, flight, tmp_path, layout, log_format
):
    direct = layout == "Procfile.cluster" and nginx.binary() is None
    if direct and IN_CI:
        require_nginx()  # fails: CI has nginx
    ports = {name: str(free_port()) for name in ("WEB_PORT", "APP_PORT", "STREAMS_PORT")}
    env = {
        **os.environ,
        **ports,
        "DATABASE_URL": database_url(),
        "NGINX_DIR": str(tmp_path / "nginx"),
        "LOG_FORMAT": log_format,
        "LOG_LEVEL": "DEBUG",
        "PAYMENT_FAILURE_RATE": "0",
        "PAYMENT_LATENCY_SECONDS": "0.05",
    }
    log = tmp_path / "honcho.log"
    honcho = run_layout(layout, env, str(log), direct=direct)
    base = f"http://127.0.0.1:{ports['APP_PORT'] if direct else ports['WEB_PORT']}"
    streams = f"http://127.0.0.1:{ports['STREAMS_PORT']}" if direct else base
    try:
        wait_for_server(base, timeout=40)
        secrets = traveller_flows(base, streams)
        time.sleep(1)  # what the processes write about the last requests
    finally:
        _stop(honcho)
    output = log.read_text(errors="replace")
    assert "orders.services" in output, output[-3000:]  # the processes did log (order changes at least)
    leaked = [line for line in output.splitlines() if any(secret in line for secret in secrets)]
    assert not leaked, "\n".join(leaked[:20])
    print(f"{layout} ({log_format}): {len(output.splitlines())} lines written, {len(leaked)} with a secret")


def _stop(honcho: subprocess.Popen) -> None:
    honcho.send_signal(signal.SIGINT)  # Ctrl-C
    try:
        honcho.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(honcho.pid, signal.SIGKILL)


# --- Pages reached with ?token= --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_opened_with_its_token_moves_it_into_the_session_and_drops_it_from_the_address(flight):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    browser = Client()
    for page in (f"/booking/{order.pk}", f"/booking/{order.pk}/receipt"):
        opened = browser.get(f"{page}?lang=en&token={token}")
        assert opened.status_code == 303, page
        assert opened["Location"] == f"{page}?lang=en" and token not in opened["Location"]
        assert "no-store" in opened["Cache-Control"]
        assert browser.get(page).status_code == 200  # the session opens it now
    stranger = Client()
    refused = stranger.get(f"/booking/{order.pk}?token=not-{token}")
    assert refused.status_code == 403 and "Location" not in refused  # a wrong token opens nothing


# --- Cache-Control: no-store on every door ----------------------------------------------------------------


@pytest.mark.django_db
def test_every_answer_with_an_orders_data_says_no_store_on_every_door(flight, monkeypatch):
    monkeypatch.setattr("orders.queue.enqueue_payment", lambda order_id: None)
    api = Client()
    created = api.post("/orders", {"flightID": flight.code}, content_type="application/json")
    order, token = created.json()["orderID"], created.json()["token"]
    answers = {
        "create (DRF)": created,
        "status (DRF)": api.get(f"/orders/{order}/status", **bearer(token)),
        "status (lean path)": lean_call("GET", f"/orders/{order}/status", token=token),
        "status, not yours (lean path)": lean_call("GET", f"/orders/{order}/status", token="x" * 43),
        "seats (lean path)": lean_call("POST", f"/orders/{order}/seats", {"seats": ["1A"]}, token=token),
        "best seats (DRF)": api.post(
            f"/orders/{order}/seats", {"best": 1}, content_type="application/json", **bearer(token)
        ),
        "passengers (DRF)": api.post(
            f"/orders/{order}/passengers",
            {"passengers": [{"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"}]},
            content_type="application/json",
            **bearer(token),
        ),
        "stream ticket": api.post(f"/orders/{order}/events/ticket", **bearer(token)),
        "stream refused": api.get(f"/orders/{order}/events?ticket=0:0"),
        "payment (DRF)": api.post(
            f"/orders/{order}/payment", {"code": "12345"}, content_type="application/json", **bearer(token)
        ),
        "find my booking (API)": api.post(
            "/bookings/find", {"reference": "K7MX3Q", "lastName": "Lovelace"}, content_type="application/json"
        ),
        "find my booking (page)": Client().get("/find-booking"),
        "booking page": Client().get(f"/booking/{order}?token={token}", follow=True),
        "receipt": Client().get(f"/booking/{order}/receipt?token={token}", follow=True),
        "booking page, not yours": Client().get(f"/booking/{order}"),
    }
    said = {what: answer.get("Cache-Control", "") for what, answer in answers.items()}  # type: ignore[attr-defined]
    missing = {what: value for what, value in said.items() if "no-store" not in value}
    assert not missing, missing
    assert "no-store" not in Client().get("/flights").get("Cache-Control", "")  # the control: no order data
