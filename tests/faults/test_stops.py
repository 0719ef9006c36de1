"""Clean stops: SIGTERM to each kind of process, and Ctrl-C on `make run` / `make run-cluster`.

A stop is not a crash: web processes end their event streams (clients reconnect and resume) and exit
within 10 s; a worker lets a payment attempt finish for WORKER_STOP_GRACE_SECONDS, then hands it back
(no attempt used, retried at once); nothing is SIGKILLed.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from flights.services import create_flight
from orders import services
from orders.models import AuditEntry, Order, OrderState, PaymentAttempt
from tests.faults.redis_server import RedisServer
from tests.http import SSEStream, call, free_port, wait_for_server
from tests.processes import BASE_DIR, Processes, wait_until
from tests.processes import test_database_url as database_url
from tests.test_proxy import require_nginx

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

SLOW_GATEWAY = 6.0  # seconds: longer than the worker's grace, shorter than the attempt's timeout


@pytest.fixture
def processes(transactional_db, tmp_path, settings):
    from django.utils import timezone

    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    procs = Processes(tmp_path)
    procs.configure(settings, PAYMENT_FAILURE_RATE=0, PAYMENT_LATENCY_SECONDS=0.05, WORKER_STOP_GRACE_SECONDS=1)
    yield procs
    procs.kill_all()
    print(procs.logs())


def paying_order(seat: str) -> str:
    order, _token = services.create_order(flight_code="FL-001", actor="test")
    services.select_seats(order_id=order.pk, labels=[seat], actor="test")
    services.submit_payment(order_id=order.pk, code="12345", actor="test")
    return order.pk


def test_sigterm_ends_a_web_process_streams_and_it_exits_within_10_s(processes):
    port = free_port()
    web = processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    streams = [SSEStream(base, "/flights/FL-001/events") for _ in range(3)]
    for stream in streams:
        stream.next(timeout=5)
    seconds = processes.stop(web, timeout=30)
    assert seconds < 10, seconds
    for stream in streams:
        assert stream.ended.wait(2), "the stream was cut, not ended"
        assert stream.kinds[-1] == "server-stopping", stream.kinds
    print(f"web process with {len(streams)} open streams exited {seconds:.2f} s after SIGTERM")


def test_sigterm_to_a_worker_hands_back_the_attempt_in_flight_and_it_runs_again_at_once(processes):
    processes.env["PAYMENT_LATENCY_SECONDS"] = str(SLOW_GATEWAY)
    worker = processes.start("run_worker")
    processes.start("run_timers")
    order_id = paying_order("1A")
    wait_until(lambda: PaymentAttempt.objects.filter(order_id=order_id).exists(), timeout=15, what="attempt started")

    seconds = processes.stop(worker, timeout=30)
    assert seconds < 1 + 3, seconds  # the grace, then the hand-back and the cluster's own stop
    order = Order.objects.get(pk=order_id)
    assert order.state == OrderState.PROCESSING_PAYMENT and order.payment_attempts_used == 0
    assert not PaymentAttempt.objects.filter(order_id=order_id).exists()
    assert AuditEntry.objects.filter(order_id=order_id, details__outcome="interrupted").count() == 1

    processes.env["PAYMENT_LATENCY_SECONDS"] = "0.05"
    restarted = time.monotonic()
    processes.start("run_worker")
    wait_until(
        lambda: Order.objects.get(pk=order_id).state == OrderState.CONFIRMED,
        timeout=8,
        what="the handed-back attempt made at once, not after the lost-attempt margin",
    )
    attempts = list(PaymentAttempt.objects.filter(order_id=order_id).values_list("number", "outcome"))
    assert attempts == [(1, "success")]
    print(
        f"worker exited {seconds:.2f} s after SIGTERM; the attempt was made again "
        f"{time.monotonic() - restarted:.2f} s after a new worker started"
    )


def test_sigterm_to_a_worker_lets_a_quick_attempt_finish(processes):
    processes.env["PAYMENT_LATENCY_SECONDS"] = "0.6"
    worker = processes.start("run_worker")
    order_id = paying_order("1B")
    wait_until(lambda: PaymentAttempt.objects.filter(order_id=order_id).exists(), timeout=15, what="attempt started")
    seconds = processes.stop(worker, timeout=30)
    assert seconds < 1 + 3, seconds
    assert Order.objects.get(pk=order_id).state == OrderState.CONFIRMED


def test_sigterm_to_the_timer_loop_stops_it_within_a_tick(processes):
    timers = processes.start("run_timers")
    wait_until(lambda: "timer loop started" in processes.logs(), timeout=15, what="timer loop started")
    assert processes.stop(timers, timeout=10) < 2


@pytest.mark.parametrize("layout", ["Procfile", "Procfile.cluster"])
def test_ctrl_c_on_make_run_stops_everything_without_a_sigkill_or_a_lost_attempt(processes, layout, tmp_path):
    env = {
        **os.environ,
        **processes.env,
        "DATABASE_URL": database_url(),
        "PAYMENT_LATENCY_SECONDS": str(SLOW_GATEWAY),
        "WEB_PORT": str(free_port()),  # Procfile: uvicorn's; Procfile.cluster: nginx's, in front of the rest
        "APP_PORT": str(free_port()),
        "STREAMS_PORT": str(free_port()),
        "NGINX_DIR": str(tmp_path / "nginx"),
    }
    redis = None
    if layout == "Procfile.cluster":
        require_nginx()
        redis = RedisServer(tmp_path)
        redis.start()
        env["REDIS_URL"] = redis.url
    honcho = subprocess.Popen(
        [str(BASE_DIR / ".venv/bin/honcho"), "start", "-f", layout],
        cwd=BASE_DIR,
        env=env,
        stdout=(tmp_path / "honcho.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{env['WEB_PORT']}"
        wait_for_server(base, timeout=30)
        created = call(base, "POST", "/orders", {"flightID": "FL-001"})[1]
        call(base, "POST", f"/orders/{created['orderID']}/seats", {"seats": ["2A"]}, created["token"])
        call(base, "POST", f"/orders/{created['orderID']}/payment", {"code": "12345"}, created["token"])
        stream = SSEStream(base, f"/orders/{created['orderID']}/events?token={created['token']}")
        wait_until(
            lambda: PaymentAttempt.objects.filter(order_id=created["orderID"]).exists(),
            timeout=15,
            what="attempt started",
        )

        started = time.monotonic()
        honcho.send_signal(signal.SIGINT)  # what Ctrl-C in its terminal does
        honcho.wait(timeout=20)
        seconds = time.monotonic() - started
    finally:
        if honcho.poll() is None:  # the test failed before its Ctrl-C: stop honcho's processes all the same
            honcho.send_signal(signal.SIGINT)  # (each runs in a session of its own: a SIGKILL to honcho's
            try:  # group would leave them running)
                honcho.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
        if redis:
            redis.stop()
    output = (tmp_path / "honcho.log").read_text()
    assert "SIGKILL" not in output, output
    assert stream.ended.wait(2) and stream.kinds[-1] == "server-stopping"
    order = Order.objects.get(pk=created["orderID"])
    assert order.state == OrderState.PROCESSING_PAYMENT and order.payment_attempts_used == 0, output
    assert order.payment_due_at is not None  # due now: the next start makes it at once
    print(f"{layout}: everything stopped {seconds:.2f} s after Ctrl-C, no SIGKILL, the attempt handed back")


def test_the_connection_pool_is_for_web_processes_only(processes):
    """DB_POOL_MAX_SIZE in a worker's environment must not give it a pool shared across django-q2's fork."""
    check = "from django.db import connection; print('pool' in connection.settings_dict.get('OPTIONS', {}))"
    env = {**os.environ, "DATABASE_URL": database_url(), "DB_POOL_MAX_SIZE": "5"}
    worker_side = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", check],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    web_side = subprocess.run(
        [sys.executable, "-c", f"import seatbooking.asgi; {check}"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert (worker_side.stdout.split()[-1], web_side.stdout.split()[-1]) == ("False", "True")

    processes.env["DB_POOL_MAX_SIZE"] = "5"
    processes.start("run_worker")
    processes.start("run_timers")
    ids = [paying_order(seat) for seat in ("3A", "3B", "3C", "3D", "3E", "3F")]
    wait_until(
        lambda: Order.objects.filter(pk__in=ids, state=OrderState.CONFIRMED).count() == len(ids),
        timeout=20,
        what="every payment confirmed by a worker started with DB_POOL_MAX_SIZE set",
    )


def test_sigterm_to_every_process_of_a_worker_is_a_crash_that_ends_and_leaves_nothing(processes):
    """What systemd's default KillMode does: SIGTERM to the main process and every child at once."""
    worker = processes.start("run_worker")
    wait_until(lambda: "running." in processes.logs(), timeout=15, what="the cluster running")
    children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1, children  # the sentinel, leading its own process group
    sentinel = int(children[0])
    os.killpg(sentinel, signal.SIGTERM)
    seconds = processes.stop(worker, timeout=30)
    assert seconds < 1 + 5 + 2, seconds  # the grace, then the bound on django-q2's stop
    time.sleep(1)
    group = subprocess.run(["pgrep", "-g", str(sentinel)], capture_output=True, text=True).stdout.split()
    states = subprocess.run(["ps", "-o", "pid=,stat=", "-p", ",".join(group) or "0"], capture_output=True, text=True)
    alive = [line for line in states.stdout.splitlines() if not line.split()[1].startswith("Z")]  # dead, unreaped
    assert not alive, f"processes of the cluster left behind: {alive}"
