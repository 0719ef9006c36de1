"""Manage a paid booking: change its seats (settled by money first), cancel it in whole or in part (refunded
by the policy). The booking's State stays CONFIRMED through a change, which shows in its status (`Change`);
a cancellation of every seat makes it CANCELLED. docs/manage-booking.md states the policy and the states."""

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from flights.fares import CENTS, fares_of
from inventory import services as inventory
from inventory.events import publish_seat_changes, sorted_labels
from inventory.selectors import held_seat_labels, unknown_seat_labels
from orders.models import AuditAction, BookingChange, ChangeState, NoticeKind, Order, OrderState
from orders.selectors import BeforeSeatChange, confirmed_at, order_status
from orders.services.booking import cancel_order, select_seats
from orders.services.change_outcome import settle_change
from orders.services.common import OrderChange, WrongState, lock_order, lost_after, record_change, transition
from orders.services.money_queue import MoneyKind, enqueue_money_on_commit
from orders.services.notices import notify_on_commit
from orders.services.payments import check_payment_code
from orders.services.refunds import create_refund
from orders.services.seats import check_labels


class ChangesClosed(Conflict):
    code = "changes_closed"


class PaymentCodeRequired(Conflict):
    code = "payment_code_required"


def check_open_for_changes(order: Order, *, now: dt.datetime, staff: bool) -> None:
    """A traveller's changes close BOOKING_CHANGES_CLOSE_SECONDS before departure; staff's never do."""
    closes = order.flight.departs_at - dt.timedelta(seconds=settings.BOOKING_CHANGES_CLOSE_SECONDS)
    if not staff and now >= closes:
        hours = settings.BOOKING_CHANGES_CLOSE_SECONDS / 3600
        raise ChangesClosed(
            f"Changes to this booking closed at {closes:%Y-%m-%d %H:%M} UTC, {hours:g} hours before departure. "
            "Contact the airline's staff.",
            closes_at=closes.isoformat(),
        )


def _check_may_change(order: Order, *, now: dt.datetime, staff: bool) -> None:
    check_open_for_changes(order, now=now, staff=staff)
    _check_no_change_running(order)


def _check_no_change_running(order: Order) -> None:
    if order.changes.filter(state=ChangeState.CHARGING).exists():
        raise WrongState(
            "A seat change of this booking is being paid for. Wait for its outcome (GET /orders/{id}/status).",
            state=order.state,
            code="change_in_progress",
        )


def change_booking_seats(
    *,
    order_id: str,
    labels: Sequence[str],
    code: str | None,
    actor: str,
    staff: bool = False,
    now: dt.datetime | None = None,
) -> OrderChange:
    """Change a confirmed booking's seats for as many others. The new seats are held at once beside the
    old; a change that costs more is charged (a worker's attempts, `code`) and settles only when paid,
    else the new seats go back and the booking stays as it was; one that costs the same or less settles
    now, the difference refunded. Asking for the seats the booking has changes nothing."""
    wanted = check_labels(labels)
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.CONFIRMED:
            raise WrongState(f"Cannot change the seats of a booking that is {order.state}.", state=order.state)
        current = held_seat_labels(order_id=order.pk, booked_only=True)
        if set(wanted) == set(current):
            return OrderChange(order, order_status(order=order, now=now))
        _check_may_change(order, now=now, staff=staff)
        _check_same_count(wanted, current)
        new = [label for label in wanted if label not in current]
        given_back = [label for label in current if label not in wanted]
        if unknown := unknown_seat_labels(flight=order.flight, labels=new):  # before any price is told
            raise inventory.unknown_seats_error(flight_code=order.flight.code, labels=unknown)
        prices, difference = _price_of_change(order, new=new, given_back=given_back, code=code)
        try:
            with transaction.atomic():  # the unique index catching a seat taken meanwhile undoes this alone
                inventory.hold_beside_booked(holder=order.pk, flight=order.flight, labels=new, now=now)
        except IntegrityError:
            raise inventory.SeatsTaken("One of these seats was taken at the same moment. Try again.") from None
        change = BookingChange.objects.create(
            order=order,
            seats_before=current,
            seats_after=sorted_labels(wanted),
            seat_prices=prices,
            difference=difference,
            currency=order.currency,
            payment_code=code if code and difference > 0 else "",
            actor=actor,
        )
        if difference <= 0:
            return OrderChange(order, settle_change(order, change, now=now))
        change.due_at = lost_after(now)
        change.save(update_fields=["due_at"])
        enqueue_money_on_commit(MoneyKind.CHANGE, change.pk)
        status = record_change(
            order,
            action=AuditAction.CHANGE_SEATS,
            from_state=order.state,
            actor=actor,
            reason=f"seat change {', '.join(given_back)} -> {', '.join(new)} asked: {difference} to charge",
            details={"change_id": change.pk, "before": current, "after": change.seats_after, "held": new},
            seats=current,
        )
        publish_seat_changes(flight_code=order.flight.code, held=new)
    return OrderChange(order, status)


def _check_same_count(wanted: list[str], current: list[str]) -> None:
    if len(wanted) != len(current):
        raise InvalidInput(
            f"A change keeps the number of seats: this booking has {len(current)}, you chose {len(wanted)}. "
            "To travel with fewer, cancel some seats; to add some, make a new booking.",
            code="seat_count_differs",
        )


def _price_of_change(order: Order, *, new: list[str], given_back: list[str], code: str | None) -> tuple[dict, Decimal]:
    """The new seats' prices, frozen now, and what the change costs; one that costs more needs the code."""
    fares = fares_of(order.flight)
    prices = fares.freeze(new, earlier={}, currency="")
    difference = fares.frozen_total(new, prices) - fares.frozen_total(given_back, order.seat_prices or {})
    if difference > 0 and code is None:
        raise PaymentCodeRequired(
            f'These seats cost {difference} {order.currency} more: send your 5-digit payment code with them ("code").',
            difference=str(difference),
            currency=order.currency,
        )
    if difference > 0:
        check_payment_code(code)
    return prices, difference


def cancellation_fee(order: Order, *, price: Decimal, now: dt.datetime) -> Decimal:
    """The policy: nothing kept within REFUND_FULL_WINDOW_SECONDS of the confirmation, CANCELLATION_FEE_PERCENT
    of the seats' price after it."""
    confirmed = confirmed_at(order) or now
    if now - confirmed <= dt.timedelta(seconds=settings.REFUND_FULL_WINDOW_SECONDS):
        return Decimal("0.00")
    return (price * Decimal(str(settings.CANCELLATION_FEE_PERCENT)) / 100).quantize(CENTS, rounding=ROUND_HALF_UP)


def cancel_booking(
    *,
    order_id: str,
    actor: str,
    seats: Sequence[str] | None = None,
    staff: bool = False,
    waive_fee: bool = False,
    reason: str = "cancelled by the traveller",
    now: dt.datetime | None = None,
) -> OrderChange:
    """Give back a confirmed booking's seats (`seats`: some of them, where PARTIAL_CANCELLATION allows; all
    by default): on sale again at once, their price refunded by the policy (less the fee after the full
    refund window; staff may waive it). Every seat given back: the order is CANCELLED."""
    now = now or timezone.now()
    asked = check_labels(seats) if seats else None  # well-formed, within the limit, each once: every door
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.CONFIRMED:
            raise WrongState(f"Cannot cancel a booking that is {order.state}.", state=order.state)
        _check_may_change(order, now=now, staff=staff)
        current = held_seat_labels(order_id=order.pk, booked_only=True)
        give_back = sorted_labels(asked) if asked else current
        _check_seats_to_give_back(give_back, current=current, staff=staff)
        released = inventory.release_booked(holder=order.pk, labels=give_back, now=now)
        price = fares_of(order.flight).frozen_total(give_back, order.seat_prices or {})
        fee = Decimal("0.00") if waive_fee else cancellation_fee(order, price=price, now=now)
        if set(give_back) == set(current):
            transition(order, order.cancel_booking, verb="cancel")
        order.seat_prices = {k: v for k, v in (order.seat_prices or {}).items() if k not in give_back}
        order.passengers = [p for p in order.passengers or [] if p["seat"] not in give_back]
        order.amount = ((order.amount or Decimal(0)) - price).quantize(CENTS)
        order.save(update_fields=["state", "seat_prices", "passengers", "amount", "updated_at"])
        refund = None
        if price - fee > 0:
            refund = create_refund(
                order,
                reason="cancellation",
                amount=price - fee,
                fee=fee,
                seats=give_back,
                actor=actor,
                note=reason,
                now=now,
            )
        status = record_change(
            order,
            action=AuditAction.CANCEL_BOOKING,
            from_state=OrderState.CONFIRMED,
            actor=actor,
            reason=f"seats {', '.join(give_back)} given back: {reason}"[:500],
            details={
                "seats": give_back,
                "price": str(price),
                "fee": str(fee),
                "refund_id": refund.pk if refund else None,
            },
        )
        publish_seat_changes(flight_code=order.flight.code, available=released)
        notify_on_commit(order, kind=NoticeKind.CANCELLED, key=f"cancel:{order.pk}:{now.timestamp()}", now=now)
    return OrderChange(order, status)


def _check_seats_to_give_back(give_back: list[str], *, current: list[str], staff: bool) -> None:
    others = [label for label in give_back if label not in current]
    if others:
        raise InvalidInput(
            f"This booking has no seat {', '.join(others)}; its seats: {', '.join(current)}.",
            code="not_booked_seats",
            seats=others,
        )
    if set(give_back) != set(current) and not (settings.PARTIAL_CANCELLATION or staff):
        raise InvalidInput("A booking is cancelled whole: give back every seat.", code="partial_cancellation_off")


def change_seats_or_selection(
    *,
    order_id: str,
    labels: Sequence[str],
    state: str,
    actor: str,
    code: str | None = None,
    staff: bool = False,
    now: dt.datetime | None = None,
    before: BeforeSeatChange | None = None,
) -> OrderChange:
    """POST /orders/{id}/seats at every door: a confirmed booking's seat change (`state`, as its access was
    checked, says which), else the selection of an order not yet paid."""
    if state == OrderState.CONFIRMED:
        return change_booking_seats(order_id=order_id, labels=labels, code=code, actor=actor, staff=staff, now=now)
    return select_seats(order_id=order_id, labels=labels, actor=actor, now=now, before=before)


def cancel_order_or_booking(
    *, order_id: str, state: str, actor: str, seats: Sequence[str] | None = None, staff: bool = False
) -> OrderChange:
    """POST /orders/{id}/cancel at every door: a confirmed booking's cancellation (all or `seats`), refunded
    by the policy; else an order not yet paid let go."""
    if state == OrderState.CONFIRMED:
        return cancel_booking(order_id=order_id, actor=actor, seats=seats, staff=staff)
    if seats:
        raise WrongState(
            "Only a paid booking gives back some of its seats; this order is not paid: cancel it whole (no body).",
            state=state,
            code="not_booked",
        )
    return cancel_order(order_id=order_id, actor=actor)
