"""A scripted burst of bookings, payments and expiries through the services, for the dashboard's tests."""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from orders import services
from orders.gateway import ChargeResult
from orders.models import AttemptOutcome


@dataclass
class Burst:
    held: int = 0  # seats left held
    booked: int = 0  # seats booked
    expired: int = 0  # seats expired by the timer loop's batch
    attempts: dict | None = None  # outcome -> attempts


def pay(order_id: str, *outcomes: AttemptOutcome, now: dt.datetime) -> None:
    """Submit a payment and settle its attempts with `outcomes`, as a worker would (without one)."""
    services.submit_payment(order_id=order_id, code="12345", actor="test", now=now)
    for number, outcome in enumerate(outcomes, start=1):
        at = now + dt.timedelta(seconds=10 * number)
        ticket = services.start_payment_attempt(order_id=order_id, now=at)
        assert ticket is not None and ticket.number == number
        result = ChargeResult(outcome == AttemptOutcome.SUCCESS, outcome, "" if outcome == "success" else "declined")
        services.finish_payment_attempt(order_id=order_id, number=number, result=result, now=at)


def run_burst(flight_code: str, *, now: dt.datetime | None = None, background: bool = False) -> Burst:
    """3 orders hold 6 seats, 2 pay for 3 seats (one after a declined attempt), 2 lapse (4 seats) and are
    expired by the timer loop's batch. With `background`, the real worker and timer loop do their part:
    payments are only submitted (the worker pays), lapsed holds are left to the timer loop."""
    now = now or timezone.now()
    orders = [services.create_order(flight_code=flight_code, actor="test")[0].pk for _ in range(7)]
    seats = [["1A", "1B"], ["1C", "2A", "2B"], ["2C"], ["3A"], ["3B", "3C"], ["4A", "4B", "4C"], ["5A"]]
    lapsed = now - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 3)  # held then: 3 s past the deadline now
    for order_id, labels in zip(orders, seats, strict=True):
        hold_from = lapsed if order_id in orders[5:] else now  # the last two lapse
        services.select_seats(order_id=order_id, labels=labels, actor="test", now=hold_from)
    if background:
        for order_id in orders[3:5]:
            services.submit_payment(order_id=order_id, code="12345", actor="test", now=now)
        return Burst(held=6, booked=3, expired=4)
    pay(orders[3], AttemptOutcome.SUCCESS, now=now)
    pay(orders[4], AttemptOutcome.DECLINED, AttemptOutcome.SUCCESS, now=now)
    assert len(services.expire_lapsed_holds(now=now)) == 2
    return Burst(held=6, booked=3, expired=4, attempts={"success": 2, "declined": 1})
