"""A scripted burst of bookings, payments and expiries through the services, for the dashboard's tests."""

import datetime as dt
import random
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
    # Settled here, the paid orders' story (hold, attempts 10 s apart) ends before `now`, as it would have.
    start = now if background else now - dt.timedelta(seconds=30)
    orders = [services.create_order(flight_code=flight_code, actor="test")[0].pk for _ in range(7)]
    seats = [["1A", "1B"], ["1C", "2A", "2B"], ["2C"], ["3A"], ["3B", "3C"], ["4A", "4B", "4C"], ["5A"]]
    lapsed = now - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 3)  # held then: 3 s past the deadline now
    for order_id, labels in zip(orders, seats, strict=True):
        hold_from = lapsed if order_id in orders[5:] else start  # the last two lapse
        services.select_seats(order_id=order_id, labels=labels, actor="test", now=hold_from)
    if background:
        for order_id in orders[3:5]:
            services.submit_payment(order_id=order_id, code="12345", actor="test", now=now)
        return Burst(held=6, booked=3, expired=4)
    pay(orders[3], AttemptOutcome.SUCCESS, now=start)
    pay(orders[4], AttemptOutcome.DECLINED, AttemptOutcome.SUCCESS, now=start)
    assert len(services.expire_lapsed_holds(now=now)) == 2
    return Burst(held=6, booked=3, expired=4, attempts={"success": 2, "declined": 1})


def spread_history(flight_codes: list[str], *, minutes: int = 55, seed: int = 17) -> None:
    """An hour of made-up traffic for docs/operations.md's picture: each minute a few orders hold, pay, lapse or
    cancel through the services, then their rows are moved back to that minute (the tables stamp rows with
    the time they are written). Payments are settled here, so the caller keeps the worker out of it."""
    from django.db.models import F

    from flights.models import Flight
    from inventory.models import SeatHold
    from inventory.selectors import seat_availability
    from orders.models import AuditEntry, PaymentAttempt

    rng, now = random.Random(seed), timezone.now()
    for offset in range(minutes, 0, -1):
        for _ in range(rng.randint(2, 6)):
            free = seat_availability(flight=Flight.objects.get(code=(code := rng.choice(flight_codes)))).available
            if len(free) < 6:
                continue
            order_id = services.create_order(flight_code=code, actor="history")[0].pk
            labels, kind = rng.sample(free, rng.randint(1, 3)), rng.random()
            if kind < 0.3:  # lapses, and the timer loop's batch expires it a little late
                late = dt.timedelta(seconds=rng.choice([0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.8]))
                held_at = now - dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS + 1)
                services.select_seats(order_id=order_id, labels=labels, actor="history", now=held_at)
                services.expire_lapsed_holds(now=held_at + dt.timedelta(seconds=settings.SEAT_HOLD_SECONDS) + late)
            else:
                services.select_seats(order_id=order_id, labels=labels, actor="history", now=now)
                if kind < 0.8:
                    outcomes = [AttemptOutcome.DECLINED] * (rng.random() < 0.2) + [AttemptOutcome.SUCCESS]
                    pay(order_id, *outcomes, now=now)
                elif kind < 0.92:
                    services.cancel_order(order_id=order_id, actor="history", now=now)
            back = dt.timedelta(minutes=offset, seconds=rng.randint(0, 50))
            SeatHold.objects.filter(order_id=order_id).update(created_at=F("created_at") - back)
            SeatHold.objects.filter(order_id=order_id, ended_at__isnull=False).update(ended_at=F("ended_at") - back)
            PaymentAttempt.objects.filter(order_id=order_id).update(started_at=F("started_at") - back)
            AuditEntry.objects.filter(order_id=order_id).update(created_at=F("created_at") - back)
