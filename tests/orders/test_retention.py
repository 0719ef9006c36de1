"""Retention: each transient kind of row is pruned after its window and kept before it; live rows and
business records are never touched; deletes go in bounded batches (orders/retention.py, core/retention.py)."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import RequestFactory
from django.utils import timezone
from django_q.models import Task

from core.events.eventstream import EventCounter, EventRow
from core.events.streams import EventStream
from core.models import IdempotencyRecord, RetentionCursor
from inventory.events import flight_channel
from inventory.models import HoldState, SeatHold
from orders import retention, services, timers
from orders.events import order_channel
from orders.models import AuditEntry, Order, OrderState

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def windows(settings):
    settings.EVENTS_KEEP_HOURS = settings.IDEMPOTENCY_KEEP_HOURS = 24
    settings.RETENTION_HOLDS_HOURS = settings.RETENTION_TASKS_HOURS = 168
    settings.RETENTION_BATCH_SIZE, settings.RETENTION_BATCHES_PER_PASS = 1000, 10


def order_with_history(flight, *, seats: list[str], end: str | None = None) -> Order:
    """An order that held `seats` one by one (each new selection released the seat before), then `end`."""
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    for label in seats:
        services.select_seats(order_id=order.pk, labels=[label], actor="test")
    if end == "cancel":
        services.cancel_order(order_id=order.pk, actor="test")
    return Order.objects.get(pk=order.pk)


def age(rows, column: str, by: dt.timedelta) -> None:
    rows.update(**{column: timezone.now() - by})


def test_events_go_after_their_window_and_each_channel_keeps_its_placeholder(flight):
    order = order_with_history(flight, seats=["1A", "1B", "1C"])
    channel = order_channel(order.pk)
    events = EventRow.objects.filter(channel=channel, eid__gt=0)
    assert events.count() == 4  # created, three selections
    age(events.filter(eid__lte=2), "created", 25 * HOUR)
    age(EventRow.objects.filter(eid=0), "created", 25 * HOUR)

    assert retention.run_pass()["events"] >= 2
    assert list(EventRow.objects.filter(channel=channel).values_list("eid", flat=True).order_by("eid")) == [0, 3, 4]
    assert EventCounter.objects.filter(name=channel).exists()  # an open order's channel stays


def test_the_channel_of_an_ended_order_quiet_past_the_window_is_forgotten_others_stay(flight):
    ended = order_with_history(flight, seats=["1A"], end="cancel")
    recently_ended = order_with_history(flight, seats=["2A"], end="cancel")
    quiet_but_open = order_with_history(flight, seats=["3A"])
    for order in (ended, quiet_but_open):
        age(EventRow.objects.filter(channel=order_channel(order.pk)), "created", 25 * HOUR)
        age(EventCounter.objects.filter(name=order_channel(order.pk)), "updated", 25 * HOUR)
    age(EventCounter.objects.filter(name=flight_channel(flight.code)), "updated", 25 * HOUR)

    pruned = retention.run_pass()

    assert pruned["order channels"] == 1
    assert not EventCounter.objects.filter(name=order_channel(ended.pk)).exists()
    assert not EventRow.objects.filter(channel=order_channel(ended.pk)).exists()  # placeholder included
    for kept in (order_channel(recently_ended.pk), order_channel(quiet_but_open.pk), flight_channel(flight.code)):
        assert EventCounter.objects.filter(name=kept).exists(), kept
        assert EventRow.objects.filter(channel=kept, eid=0).exists(), kept
    assert Order.objects.filter(pk=ended.pk).exists()  # the booking itself is a business record
    assert AuditEntry.objects.filter(order_id=ended.pk).count() == 3


@pytest.mark.django_db(transaction=True)  # a stream gives its connection back after each read
def test_a_stream_resuming_after_its_events_were_pruned_gets_a_fresh_snapshot(flight):
    order = order_with_history(flight, seats=["1A", "1B"], end="cancel")
    channel = order_channel(order.pk)
    age(EventRow.objects.filter(channel=channel), "created", 25 * HOUR)
    age(EventCounter.objects.filter(name=channel), "updated", 25 * HOUR)
    retention.run_pass()
    assert not EventCounter.objects.filter(name=channel).exists()

    stream = EventStream(channel, lambda: ("message", {"State": "CANCELLED"}))
    request = RequestFactory().get("/events", HTTP_LAST_EVENT_ID=f"{channel}:3")
    assert stream.open(request) == ""  # resuming: no snapshot yet, the table decides
    text = stream.catch_up()
    assert '"State":"CANCELLED"' in text
    assert f"id: {channel}:0" in text  # the snapshot, with the channel's id now (none left)


def test_released_holds_of_ended_orders_go_after_their_window_booked_and_live_ones_stay(flight):
    cancelled = order_with_history(flight, seats=["1A", "1B"], end="cancel")  # 1A released, then 1B released
    recent = order_with_history(flight, seats=["2A", "2B"], end="cancel")
    selecting = order_with_history(flight, seats=["3A", "3B"])  # 3A released, 3B held
    booked = order_with_history(flight, seats=["4A"])
    SeatHold.objects.filter(order_id=booked.pk).update(state=HoldState.CONFIRMED, ended_at=timezone.now())
    Order.objects.filter(pk=booked.pk).update(state=OrderState.CONFIRMED)
    old = SeatHold.objects.exclude(order_id=recent.pk)
    age(old.filter(ended_at__isnull=False), "ended_at", 169 * HOUR)

    assert retention.run_pass()["seat holds"] == 2

    assert not SeatHold.objects.filter(order_id=cancelled.pk).exists()
    assert SeatHold.objects.filter(order_id=recent.pk).count() == 2
    assert dict(SeatHold.objects.filter(order_id=selecting.pk).values_list("seat__label", "state")) == {
        "3A": HoldState.RELEASED,  # an order still open keeps its history
        "3B": HoldState.HELD,
    }
    assert SeatHold.objects.get(order_id=booked.pk).state == HoldState.CONFIRMED


def test_holds_are_walked_from_where_the_last_pass_stopped(flight, settings):
    """Kept rows before the walk's position are not read again: each pass reads what ended since."""
    settings.RETENTION_BATCH_SIZE, settings.RETENTION_BATCHES_PER_PASS = 2, 2
    order = order_with_history(flight, seats=["1A", "1B", "1C", "1D", "1E", "1F"], end="cancel")
    age(SeatHold.objects.filter(order_id=order.pk), "ended_at", 169 * HOUR)

    assert retention.prune_holds(now=timezone.now()) == 4  # the budget: 2 batches of 2
    assert retention.prune_holds(now=timezone.now()) == 2
    assert retention.prune_holds(now=timezone.now()) == 0
    position = RetentionCursor.objects.get(pk="holds").position
    assert timezone.now() - position - 168 * HOUR < dt.timedelta(minutes=1)  # up to the window's edge


def test_idempotency_keys_sessions_and_task_rows_go_after_their_windows(flight):
    now = timezone.now()
    for age_hours, digest in ((25, "old"), (23, "new")):
        record = IdempotencyRecord.objects.create(
            scope="POST /orders", key_digest=digest, body_sha256="", status_code=201
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=now - age_hours * HOUR)
    for expires, key in ((now - HOUR, "expired"), (now + HOUR, "live")):
        store = SessionStore(session_key=None)
        store.create()
        Session.objects.filter(session_key=store.session_key).update(expire_date=expires, session_key=key)
    for age_hours, task_id in ((169, "old"), (167, "new")):
        stopped = now - age_hours * HOUR
        Task.objects.create(id=task_id, name=task_id, func="f", started=stopped, stopped=stopped, success=False)

    pruned = retention.run_pass()

    assert (pruned["idempotency keys"], pruned["sessions"], pruned["tasks"]) == (1, 1, 1)
    assert list(IdempotencyRecord.objects.values_list("key_digest", flat=True)) == ["new"]
    assert list(Session.objects.values_list("session_key", flat=True)) == ["live"]
    assert list(Task.objects.values_list("id", flat=True)) == ["new"]


def test_deletes_go_in_bounded_batches(flight, settings, django_assert_max_num_queries):
    settings.RETENTION_BATCH_SIZE, settings.RETENTION_BATCHES_PER_PASS = 3, 2
    for n in range(8):
        record = IdempotencyRecord.objects.create(
            scope="POST /orders", key_digest=str(n), body_sha256="", status_code=201
        )
        IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - 25 * HOUR)
    assert retention.run_pass()["idempotency keys"] == 6  # two batches of three this pass ...
    assert retention.run_pass()["idempotency keys"] == 2  # ... the rest the next


def test_the_timer_loops_housekeeping_runs_the_pass(flight):
    ended = order_with_history(flight, seats=["1A"], end="cancel")
    channel = order_channel(ended.pk)
    age(EventRow.objects.filter(channel=channel), "created", 25 * HOUR)
    age(EventCounter.objects.filter(name=channel), "updated", 25 * HOUR)
    timers.trim()
    assert not EventCounter.objects.filter(name=channel).exists()
    assert not EventRow.objects.filter(channel=channel).exists()
