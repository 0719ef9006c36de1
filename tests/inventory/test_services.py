"""Ending a holder's holds while another order takes one of them over (PostgreSQL, real transactions)."""

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inventory import services as inventory
from inventory.models import HoldState, SeatHold
from orders import services

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_seat_taken_over_meanwhile_is_not_announced_as_freed_by_its_lapsed_holder(flight):
    """The lapsed holder's expiry (timer loop, cancel) and another order's takeover of the same seat run at
    once: the seat must not come back as "freed" from the expiry, or the flight's channel would call a
    held seat available."""
    now = timezone.now()
    lapsed, _ = services.create_order(flight_code=flight.code, actor="test")
    long_ago = now - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 5)
    services.select_seats(order_id=lapsed.pk, labels=["1A", "1B"], actor="test", now=long_ago)
    taker, _ = services.create_order(flight_code=flight.code, actor="test")
    taken, finish = threading.Event(), threading.Event()

    def take_over_1a():  # its change stays uncommitted until `finish`
        try:
            with transaction.atomic():
                services.select_seats(order_id=taker.pk, labels=["1A"], actor="test", now=now)
                taken.set()
                finish.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=take_over_1a)
    thread.start()
    assert taken.wait(10)
    threading.Timer(0.5, finish.set).start()  # the takeover commits while the expiry below waits for it
    with transaction.atomic():
        freed = inventory.release_holds(holder=lapsed.pk, now=now, state=HoldState.EXPIRED)
    thread.join()
    assert freed == ["1B"]
    assert SeatHold.objects.get(seat__label="1A", state=HoldState.HELD).order_id == taker.pk
