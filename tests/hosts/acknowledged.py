"""What a traveller was told, against what survives a failover: the scenario that shows why synchronous
replication matters, and the capacity it costs (tests/hosts/test_acknowledged.py and its control).

Deterministic rather than a race: the primary's WAL senders are stopped (SIGSTOP), so its changes reach no
replica (nothing is left in flight either: a stopped receiver would still find the WAL in its socket's
buffer); one booking is made; then the primary's host dies, the senders with it. Without synchronous replication the booking was answered CONFIRMED and is gone; with it,
every commit waits for a standby, so the booking is never answered (503 after the bounded wait), and
nothing that was answered is lost.
"""

import os
import signal
import statistics
import threading
import time
from pathlib import Path

from tests.hosts import database
from tests.hosts.layout import FLIGHT, FLIGHT_SEATS, Layout
from tests.hosts.network import Host
from tests.hosts.traffic import Client, order_states
from tests.processes import wait_until


def walsenders(host: Host) -> list[int]:
    pids = []
    for pid in host.pids():
        try:
            if b"walsender" in Path(f"/proc/{pid}/cmdline").read_bytes():
                pids.append(pid)
        except OSError:
            pass
    return pids


def book(client: Client, seat: str, *, budget: float = 15) -> dict[str, str]:
    """One booking of `seat`, as far as it goes within `budget` seconds: {order: the last state answered}."""
    told: dict[str, str] = {}
    status, created = client.call("POST", "/orders", {"flightID": FLIGHT})
    if status != 201:
        return told
    order_id, token = created["orderID"], created["token"]
    told[order_id] = "PENDING"
    status, body = client.call("POST", f"/orders/{order_id}/seats", {"seats": [seat]}, token)
    if status != 200:
        return told
    told[order_id] = body["State"]
    status, body = client.call("POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
    if status >= 300:
        return told
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        status, body = client.call("GET", f"/orders/{order_id}/status", token=token)
        if status == 200:
            told[order_id] = body["State"]
            if body["State"] == "CONFIRMED":
                break
        time.sleep(0.2)
    return told


def booking_through_a_failover(layout: Layout) -> dict:
    """The scenario; returns what was told and what the new primary has."""
    client = Client(layout.lb, timeout=15)
    told = book(client, FLIGHT_SEATS[0])
    assert "CONFIRMED" in told.values(), f"the first booking, before anything broke: {told}"
    primary = database.leader(layout.db_hosts)
    assert primary, "no primary"
    replicas = [h for h in layout.db_hosts if h.name != primary]
    stopped = walsenders(layout.host(primary))
    assert len(stopped) == len(replicas), "a WAL sender per replica"
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    stalled = time.monotonic()
    try:
        during = book(client, FLIGHT_SEATS[1], budget=8)
        told.update(during)
    finally:
        layout.host(primary).die()
    answers = dict(client.statuses(since=stalled))
    names = {h.name for h in replicas}
    wait_until(lambda: database.leader(replicas) in names, timeout=60, interval=0.2, what="a new primary")
    with layout.connect(autocommit=True) as conn:
        kept = order_states(conn, list(told))
    return {"told": told, "kept": kept, "answered_while_replicas_stalled": during, "statuses_while_stalled": answers}


def capacity(layout: Layout, *, seconds: float = 10, threads: int = 6) -> dict:
    """Seat changes per second through the load balancer (each thread's order moving between two seats of
    its own), and the commit latency of one-row writes from this machine to the primary."""
    client = Client(layout.lb)
    changes: list[float] = []
    stop = threading.Event()

    def change_seats(n: int) -> None:
        status, created = client.call("POST", "/orders", {"flightID": FLIGHT})
        assert status == 201, created
        mine = FLIGHT_SEATS[-2 * (n + 1) :][:2]
        while not stop.is_set():
            for seat in mine:
                started = time.monotonic()
                status, _ = client.call(
                    "POST", f"/orders/{created['orderID']}/seats", {"seats": [seat]}, created["token"]
                )
                if status == 200:
                    changes.append(time.monotonic() - started)

    workers = [threading.Thread(target=change_seats, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    with layout.connect(autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS commit_latency (at timestamptz)")
        latencies = []
        for _ in range(200):
            started = time.perf_counter()
            conn.execute("INSERT INTO commit_latency VALUES (now())")
            latencies.append((time.perf_counter() - started) * 1000)
    return {
        "synchronous_replication": layout.synchronous,
        "seat_changes_per_second": round(len(changes) / seconds, 1),
        "seat_change_median_ms": round(statistics.median(changes) * 1000, 1),
        "commit_median_ms": round(statistics.median(latencies), 2),
        "commit_p95_ms": round(sorted(latencies)[int(len(latencies) * 0.95)], 2),
    }
