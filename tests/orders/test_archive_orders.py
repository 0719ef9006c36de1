"""manage.py archive_orders: old ended orders go to a file of JSON lines with their holds, audit trail and
payment attempts, and out of the database; a dry run only counts; nothing else is touched."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.events.eventstream import EventCounter, EventRow
from flights.services import create_flight
from inventory.models import HoldState, SeatHold
from orders import services
from orders.events import order_channel
from orders.models import AttemptOutcome, AuditEntry, Order, OrderState, PaymentAttempt

pytestmark = pytest.mark.django_db

YEAR_AND_A_DAY = dt.timedelta(days=366)


@pytest.fixture
def departed(db):
    return create_flight(
        code="FL-OLD",
        origin="A",
        destination="B",
        departs_at=timezone.now() - YEAR_AND_A_DAY,
        rows=3,
        letters="AB",
        aisles_after="A",
    )


def booked(flight, label: str, *, state=OrderState.CONFIRMED, age=YEAR_AND_A_DAY) -> Order:
    order, _ = services.create_order(flight_code=flight.code, actor="test")
    services.select_seats(order_id=order.pk, labels=[label], actor="test")
    if state == OrderState.CONFIRMED:
        SeatHold.objects.filter(order_id=order.pk).update(state=HoldState.CONFIRMED, ended_at=timezone.now())
        PaymentAttempt.objects.create(
            order_id=order.pk, number=1, outcome=AttemptOutcome.SUCCESS, started_at=timezone.now()
        )
    Order.objects.filter(pk=order.pk).update(state=state, updated_at=timezone.now() - age)
    return Order.objects.get(pk=order.pk)


def archive(*args: str) -> str:
    out = StringIO()
    call_command("archive_orders", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_counts_and_changes_nothing(departed, tmp_path):
    booked(departed, "1A")
    output = tmp_path / "orders.jsonl"
    said = archive("--dry-run", "--output", str(output))
    assert "would archive: 1 orders" in said and "1 seat holds" in said and "1 payment attempts" in said
    assert not output.exists()
    assert Order.objects.count() == 1 and SeatHold.objects.count() == 1


def test_old_ended_orders_go_to_the_file_with_their_records_then_out_of_the_database(departed, flight, tmp_path):
    old = [booked(departed, label) for label in ("1A", "1B", "2A")]
    cancelled = booked(departed, "2B", state=OrderState.CANCELLED)
    recent = booked(departed, "3A", age=dt.timedelta(days=30))
    open_order = booked(departed, "3B", state=OrderState.SEATS_SELECTED)
    not_yet_flown = booked(flight, "1A")
    output = tmp_path / "orders.jsonl"

    said = archive("--output", str(output), "--batch-size", "2", "--state", "CONFIRMED")

    assert "archived to" in said and ": 3 orders" in said
    lines = [json.loads(line) for line in output.read_text().splitlines()]
    assert sorted(line["order"]["id"] for line in lines) == sorted(o.pk for o in old)
    first = lines[0]
    assert first["order"]["state"] == "CONFIRMED" and "token_hash" not in first["order"]
    assert [h["state"] for h in first["holds"]] == ["CONFIRMED"]
    assert [a["action"] for a in first["audit"]] == ["create", "select_seats"]
    assert [a["outcome"] for a in first["attempts"]] == ["success"]
    gone = [o.pk for o in old]
    for model in (SeatHold, AuditEntry, PaymentAttempt):
        assert not model.objects.filter(order_id__in=gone).exists(), model
    assert not Order.objects.filter(pk__in=gone).exists()
    assert not EventCounter.objects.filter(name__in=[order_channel(pk) for pk in gone]).exists()
    assert not EventRow.objects.filter(channel__in=[order_channel(pk) for pk in gone]).exists()
    kept = [cancelled, recent, open_order, not_yet_flown]
    assert set(Order.objects.values_list("pk", flat=True)) == {o.pk for o in kept}

    archive("--output", str(output))  # every ended state by default: the cancelled one now
    assert set(Order.objects.values_list("pk", flat=True)) == {recent.pk, open_order.pk, not_yet_flown.pk}
    assert len(output.read_text().splitlines()) == 4
