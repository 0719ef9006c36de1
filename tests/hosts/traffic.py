"""Travellers and event streams through the load balancer, recording every answer the service gave."""

import http.client
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from core.events.eventstream import EventRow
from inventory.models import SeatHold, live_sql
from orders.models import Order

FINAL_STATES = ("CONFIRMED", "FAILED", "EXPIRED", "CANCELLED")


@dataclass
class Answer:
    at: float  # time.monotonic() when it came
    method: str
    path: str
    status: int  # 0: no HTTP answer at all (connection refused, reset or timed out)
    retry_after: str | None
    code: str = ""  # an error's code: `unavailable` is nginx's own (no application host answered)


class Client:
    """One HTTP request per connection, as many browsers behind many addresses would send them."""

    def __init__(self, base: str, timeout: float = 25) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port, self.timeout = int(port), timeout
        self.answers: list[Answer] = []
        self.lock = threading.Lock()

    def call(self, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, retry_after = 0, None
        payload: dict = {}
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            status, retry_after = response.status, response.getheader("Retry-After")
            raw = response.read()
            try:
                payload = json.loads(raw) if raw else {}
            except ValueError:
                payload = {"raw": raw[:200].decode(errors="replace")}
        except OSError:
            pass
        finally:
            conn.close()
        with self.lock:
            code = str(payload.get("code", "")) if status >= 400 and isinstance(payload, dict) else ""
            self.answers.append(Answer(time.monotonic(), method, path, status, retry_after, code))
        return status, payload

    def statuses(self, since: float = 0, until: float = float("inf")) -> Counter:
        with self.lock:
            return Counter(a.status for a in self.answers if since <= a.at <= until)

    def server_errors(self, since: float = 0, until: float = float("inf")) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.status >= 500 and since <= a.at <= until]


@dataclass
class Travellers:
    """`count` travellers, each booking one or two seats of `seats` (racing each other for them), paying,
    and waiting for the outcome; `confirmed` holds the orders the service answered CONFIRMED, with when."""

    client: Client
    flight: str
    seats: list[str]
    count: int = 6
    created: dict[str, float] = field(default_factory=dict)
    confirmed: dict[str, float] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self.travel, args=(i,), daemon=True) for i in range(self.count)]
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def travel(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.stop.is_set():
            try:
                self.book(rng)
            except Exception:  # a traveller gives up on an order that went wrong and starts again
                time.sleep(0.2)

    def book(self, rng: random.Random) -> None:
        status, created = self.client.call("POST", "/orders", {"flightID": self.flight})
        if status != 201:
            time.sleep(0.3)
            return
        order_id, token = created["orderID"], created["token"]
        self.created[order_id] = time.monotonic()
        for _ in range(5):
            status, _ = self.client.call(
                "POST", f"/orders/{order_id}/seats", {"seats": rng.sample(self.seats, rng.choice((1, 2)))}, token
            )
            if status != 409:
                break
        if status != 200:
            return
        status, _ = self.client.call("POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
        if status >= 300:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not self.stop.is_set():
            status, body = self.client.call("GET", f"/orders/{order_id}/status", token=token)
            if status == 200 and body.get("State") in FINAL_STATES:
                if body["State"] == "CONFIRMED":
                    self.confirmed[order_id] = time.monotonic()
                return
            time.sleep(0.2)


class ResumingStream:
    """A flight's event stream read as EventSource reads it: when the connection ends, fails or goes quiet
    for longer than `quiet` seconds (keep-alives stopped: a link cut), it reconnects with Last-Event-ID."""

    def __init__(self, base: str, flight: str, quiet: float = 6) -> None:
        self.host, port = base.removeprefix("http://").split(":")
        self.port, self.flight, self.quiet = int(port), flight, quiet
        self.ids: list[int] = []
        self.reconnects = 0
        self.served_by: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.read_once()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            if not self.stop.is_set():
                self.reconnects += 1
                time.sleep(0.5)

    def read_once(self) -> None:
        headers = {"Accept": "text/event-stream"}
        if self.ids:
            headers["Last-Event-ID"] = f"flight-{self.flight}:{self.ids[-1]}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.quiet)
        try:
            conn.request("GET", f"/flights/{self.flight}/events", headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                response.read()
                return
            self.served_by.append(response.getheader("X-Served-By") or "")
            for raw in response:  # a read that waits longer than `quiet` raises socket.timeout
                line = raw.decode().rstrip("\r\n")
                if line.startswith("id:"):
                    self.ids.append(int(line.rsplit(":", 1)[1]))
                if self.stop.is_set():
                    return
        except TimeoutError:
            return
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def established(host, port: int) -> int:
    """Connections to `port` open on the host (its event streams, for the streams server's port)."""
    return len(host.run(["ss", "-Htn", "state", "established", f"sport = :{port}"]).splitlines())


def double_live_holds(conn) -> list[tuple]:
    """Seats with more than one live hold (held before its deadline, or booked): must be none."""
    table = SeatHold._meta.db_table
    return conn.execute(
        f"SELECT seat_id, count(*) FROM {table} AS h WHERE {live_sql('h')} GROUP BY seat_id HAVING count(*) > 1",
        [time_now(conn)],
    ).fetchall()


def time_now(conn):
    return conn.execute("SELECT now()").fetchone()[0]


def paying(conn) -> int:
    table = Order._meta.db_table
    return conn.execute(f"SELECT count(*) FROM {table} WHERE state = 'PROCESSING_PAYMENT'").fetchone()[0]


def order_states(conn, order_ids: list[str]) -> dict[str, str]:
    table = Order._meta.db_table
    rows = conn.execute(f"SELECT id, state FROM {table} WHERE id = ANY(%s)", [order_ids]).fetchall()
    return dict(rows)


def flight_event_ids(conn, flight: str, after: int) -> list[int]:
    rows = conn.execute(
        f"SELECT eid FROM {EventRow._meta.db_table} WHERE channel = %s AND eid > %s ORDER BY eid",
        [f"flight-{flight}", after],
    ).fetchall()
    return [row[0] for row in rows]
