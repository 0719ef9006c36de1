"""Ids that grow with traffic are 64-bit: with each such sequence moved just short of 2^31, seat changes,
a timer tick, a payment and an operator's action all still work (core/migrations/0005_bigint_ids.py)."""

import datetime as dt
import importlib

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ

from core.events.eventstream import EventCounter, EventRow
from orders import services, tasks, timers
from orders.models import Order, OrderState

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]

NEAR_THE_32_BIT_LIMIT = 2**31 - 2  # two more ids fit in 32 bits; the third does not
GROWING = ("django_eventstream_event", "django_eventstream_eventcounter", "django_q_ormq", "django_admin_log")


def move_sequences_near_the_limit() -> None:
    with connection.cursor() as cursor:
        for table in GROWING:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            (sequence,) = cursor.fetchone()
            cursor.execute(f"ALTER SEQUENCE {sequence} RESTART WITH {NEAR_THE_32_BIT_LIMIT}")


def test_every_growing_id_goes_past_2_to_the_31(flight, settings, django_capture_on_commit_callbacks):
    settings.PAYMENT_FAILURE_RATE, settings.PAYMENT_LATENCY_SECONDS = 0, 0.01
    move_sequences_near_the_limit()
    with django_capture_on_commit_callbacks(execute=True):
        orders = [services.create_order(flight_code=flight.code, actor="test")[0] for _ in range(4)]
        for row, order in enumerate(orders, start=1):  # seat changes: events, and a counter per channel
            services.select_seats(order_id=order.pk, labels=[f"{row}A"], actor="test")
            services.select_seats(order_id=order.pk, labels=[f"{row}A", f"{row}B"], actor="test")
        lapsed = orders[0]
        Order.objects.filter(pk=lapsed.pk).update(hold_expires_at=timezone.now() - dt.timedelta(seconds=1))
        assert lapsed.pk in timers.tick().expired  # a timer tick
        for order in orders[1:]:  # payments: a task queued for each, then made
            services.submit_payment(order_id=order.pk, code="12345", actor="test")
    for order in orders[1:]:
        tasks.process_payment(order.pk)
        assert Order.objects.get(pk=order.pk).state == OrderState.CONFIRMED
    if settings.Q_BROKER != "orm":  # the queue is Redis here: put tasks in the ORM queue's table directly
        OrmQ.objects.bulk_create([OrmQ(key="seatbooking", payload="test") for _ in range(3)])
    staff = User.objects.create_user("operator", is_staff=True)  # an operator's actions in the admin
    LogEntry.objects.log_actions(staff.pk, Order.objects.filter(pk__in=[o.pk for o in orders]), CHANGE, "seen")

    assert EventRow.objects.order_by("-id").values_list("id", flat=True)[0] >= 2**31
    assert EventCounter.objects.order_by("-id").values_list("id", flat=True)[0] >= 2**31
    assert LogEntry.objects.order_by("-id").values_list("id", flat=True)[0] >= 2**31
    with connection.cursor() as cursor:  # queue rows are deleted once taken: ask the sequence
        cursor.execute("SELECT last_value FROM django_q_ormq_id_seq")
        assert cursor.fetchone()[0] >= 2**31


def test_the_conversion_locks_one_table_at_a_time():
    """Not one transaction over the four rewrites (each table locked until the last is done): one each."""
    migration = importlib.import_module("core.migrations.0005_bigint_ids").Migration
    assert migration.atomic is False
    assert len(migration.operations) == len(GROWING)
    assert all(operation.atomic for operation in migration.operations)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, data_type FROM information_schema.columns WHERE column_name = 'id' "
            "AND table_name = ANY(%s)",
            [list(GROWING)],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(GROWING, "bigint")
