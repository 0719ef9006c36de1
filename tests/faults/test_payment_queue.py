"""How a payment reaches a worker (core/worker.py): the Redis broker wherever REDIS_URL is set, a broker
that outlives a Redis outage, and worker processes that keep (and check) their database connection.

Real processes on PostgreSQL: a web process that queues the task and a django-q2 cluster
(manage.py run_worker) that runs it. No timer loop runs here, so nothing but the queue can bring a
payment to a worker: a payment that completes was delivered by the broker under test.
"""

import time

import pytest
import redis
from django.db import connection
from django.utils import timezone

from flights.services import create_flight
from orders.models import Order, OrderState, PaymentAttempt
from tests.faults.redis_server import RedisServer
from tests.http import call, free_port, wait_for_server
from tests.processes import Processes, wait_until

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

QUEUE_KEY = "django_q:seatbooking:q"  # django-q2's Redis list for the cluster named in Q_CLUSTER


@pytest.fixture
def service(transactional_db, tmp_path, settings, monkeypatch):
    create_flight(code="FL-001", origin="A", destination="B", departs_at=timezone.now(), rows=5, letters="ABCDEF")
    monkeypatch.delenv("Q_BROKER", raising=False)  # the default for the layout is under test
    processes = Processes(tmp_path)
    processes.configure(settings, PAYMENT_LATENCY_SECONDS=0.05, PAYMENT_FAILURE_RATE=0, PAYMENT_TIMEOUT_SECONDS=2)
    yield processes
    processes.kill_all()


def start_web(processes: Processes) -> str:
    port = free_port()
    processes.start_web(port)
    base = f"http://127.0.0.1:{port}"
    wait_for_server(base)
    return base


def submit_payment(base: str, seat: str) -> str:
    _status, created = call(base, "POST", "/orders", {"flightID": "FL-001"})
    order_id, token = created["orderID"], created["token"]
    assert call(base, "POST", f"/orders/{order_id}/seats", {"seats": [seat]}, token)[0] == 200
    status, body = call(base, "POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)
    assert status == 202, body
    return order_id


def wait_confirmed(order_id: str, timeout: float) -> None:
    wait_until(lambda: Order.objects.get(pk=order_id).state == OrderState.CONFIRMED, timeout=timeout, what="CONFIRMED")


def test_with_redis_url_set_payments_are_queued_on_redis(service: Processes, settings, own_redis: RedisServer):
    """The deployed layout sets REDIS_URL and nothing else: the task goes to Redis (which a worker waits
    on), not to the database table the ORM broker polls."""
    from django_q.models import OrmQ

    try:
        service.configure(settings, REDIS_URL=own_redis.url)
        base = start_web(service)
        order_id = submit_payment(base, "1A")
        assert redis.Redis.from_url(own_redis.url).llen(QUEUE_KEY) == 1
        assert OrmQ.objects.count() == 0
        service.start("run_worker")
        wait_confirmed(order_id, timeout=20)
        assert redis.Redis.from_url(own_redis.url).llen(QUEUE_KEY) == 0
    finally:
        own_redis.stop()


def test_a_worker_on_the_redis_broker_takes_tasks_again_as_soon_as_redis_is_back(
    service: Processes, settings, own_redis: RedisServer
):
    """django-q2's own Redis pusher dies on a connection error after a traceback and a 10 s sleep, and
    only the cluster's next reincarnation takes tasks again. Ours waits for Redis and goes on."""
    try:
        service.configure(settings, REDIS_URL=own_redis.url)
        base = start_web(service)
        service.start("run_worker")
        wait_confirmed(submit_payment(base, "1A"), timeout=20)  # the cluster is up and taking tasks
        own_redis.stop()
        time.sleep(3)  # the pusher's pops fail meanwhile
        own_redis.start()
        wait_until(lambda: redis.Redis.from_url(own_redis.url).ping(), timeout=5, what="redis back")
        order_id = submit_payment(base, "1B")
        wait_confirmed(order_id, timeout=5)  # well inside django-q2's 10 s sleep
        logs = service.logs()
        assert "Traceback" not in logs, logs
        assert "Redis unreachable for task queue" in logs
    finally:
        own_redis.stop()


def other_backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


def test_worker_processes_keep_their_connection_and_replace_a_broken_one(service: Processes, settings):
    """ORM broker (no REDIS_URL, as `make run`): the cluster's connections outlive tasks and polls
    (with CONN_MAX_AGE=0 the pusher alone reconnected every poll). Killed under it (a database
    restart, an administrator), a connection is replaced before the next task uses it: the payment is
    made at once, with its first attempt."""
    service.configure(settings, Q_WORKERS=1, DB_POOL_MAX_SIZE=0)
    base = start_web(service)  # no pool: a web process's connection ends with its request
    service.start("run_worker")
    wait_confirmed(submit_payment(base, "1A"), timeout=20)
    kept = other_backends()
    wait_confirmed(submit_payment(base, "1B"), timeout=10)
    time.sleep(0.5)  # several polls of the ORM broker
    kept &= other_backends()
    assert kept, "no connection of the worker's cluster lived through a payment"

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [list(kept)])
    order_id = submit_payment(base, "1C")
    wait_confirmed(order_id, timeout=5)
    assert list(PaymentAttempt.objects.filter(order_id=order_id).values_list("number", "outcome")) == [(1, "success")]
