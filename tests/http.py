"""A small HTTP and Server-Sent Events client for tests against a live server (standard library only)."""

import contextlib
import http.client
import json
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def wait_for_server(base: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if call(base, "GET", "/flights")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no server answered at {base}")


@dataclass
class SSEEvent:
    type: str
    id: str | None
    data: dict
    received_at: float
    named: bool = False  # sent with an `event:` line (an unnamed event reaches EventSource's onmessage)


class SSEStream:
    """Reads a text/event-stream in a thread; `next()` returns the next data event (not keep-alives)."""

    IGNORED = {"stream-open", "keep-alive"}

    def __init__(self, base: str, path: str, headers: dict | None = None) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.content_type = self.response.getheader("Content-Type", "")
        self.events: queue.Queue[SSEEvent] = queue.Queue()
        self.keepalives = 0
        self.kinds: list[str] = []  # every event's type, data or not, in order
        self.ended = threading.Event()  # the server ended the response (not the test closing it)
        self.received: list[int] = []  # event ids a test has drained so far (tests/faults)
        if self.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        kind, event_id, named = "message", None, False
        data: list[str] = []
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    self.keepalives += kind == "keep-alive"
                    if kind != "message" or data:
                        self.kinds.append(kind)
                    if data and kind not in self.IGNORED:
                        event = SSEEvent(kind, event_id, json.loads("\n".join(data)), time.monotonic(), named)
                        self.events.put(event)
                    kind, event_id, data, named = "message", None, [], False
                elif line.startswith("event:"):
                    kind, named = line[6:].strip(), True
                elif line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:") and line[5:].strip():
                    data.append(line[5:].strip())
            self.ended.set()
        except Exception:
            pass

    def next(self, timeout: float = 2.0) -> SSEEvent:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None

    def next_matching(self, predicate, timeout: float = 5.0) -> SSEEvent:
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(event):
                return event

    def nothing_within(self, seconds: float) -> bool:
        try:
            event = self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected event {event}")

    def close(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()

    def body(self) -> dict:
        return json.loads(self.response.read())
