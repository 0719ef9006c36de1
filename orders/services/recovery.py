"""Hold the same seats again: after a declined payment, a lapsed hold or a cancel, one change makes a new
order on the same flight holding those of the ended order's seats that are still free, with its
passengers' names and contact email. The ended order stays as it ended (its state is final in the
contract); its audit trail says which order took over, so asking twice gives the same new order."""

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.errors import InvalidInput
from inventory.selectors import free_seat_labels
from inventory.services import SeatsTaken
from orders.clients import ClientKeys
from orders.models import AuditAction, Order, OrderState
from orders.selectors import PassengerJSON, last_seats
from orders.services.booking import create_order, select_seats
from orders.services.common import WrongState, audit_entry, expire_locked, lock_order, log_on_commit, record_change

# The states from which a traveller may hold the same seats again: ended, nothing booked.
RECOVERABLE_STATES = (OrderState.FAILED, OrderState.EXPIRED, OrderState.CANCELLED)
# Holding what is left again after losing a seat at the very moment (each round drops the seats named taken).
HOLD_ROUNDS = 4


@dataclass(frozen=True)
class HoldAgain:
    """What holding again did: the new order, the seats it holds, the ended order's seats it could not get
    (taken meanwhile) and the passengers of those. `repeated`: the ended order had been held again before,
    and this is that order (nothing new was made)."""

    order: Order
    held: list[str]
    taken: list[str]
    unseated: list[PassengerJSON] = field(default_factory=list)
    repeated: bool = False


def hold_again(*, order_id: str, actor: str, client: ClientKeys | None, now: dt.datetime | None = None) -> HoldAgain:
    """A new order on the ended order's flight, holding its seats still free, its passengers named for the
    seats it got and its contact email; one transaction. Refused (409 `not_ended`) unless the order ended
    without a booking. Asked again for the same ended order, it answers with the order it made the first time."""
    now = now or timezone.now()
    with transaction.atomic():
        ended = lock_order(order_id)  # first: two clicks at once take turns here
        before = _held_again_before(ended)
        if before is not None:
            return before
        if ended.hold_lapsed(now):  # not swept yet: it expires now, as any late request makes it
            expire_locked(ended, now=now, actor=actor, reason="hold deadline passed")
        if ended.state not in RECOVERABLE_STATES:
            raise WrongState(
                "Only a booking that ended without being paid (payment declined, hold ended or cancelled) can be "
                "held again.",
                code="not_ended",
                state=ended.state,
            )
        wanted = last_seats(ended)
        order, _token = create_order(flight_code=ended.flight.code, actor=actor, client=client, language=ended.language)
        held = _hold_what_is_free(order, wanted=wanted, actor=actor, now=now)
        names = {p["seat"]: p for p in ended.passengers or []}
        # Every name, those of the seats taken meanwhile too: each waits for the next seat chosen without one.
        _carry_passengers(order, [names[s] for s in wanted if s in names], email=ended.contact_email, actor=actor)
        taken = [s for s in wanted if s not in held]
        details, reason = {"new_order": order.pk, "held": held, "taken": taken}, f"held again as {order.pk}"
        # The ended order itself does not change (no status event, no new end): only its audit trail says it.
        audit_entry(
            ended, action=AuditAction.HOLD_AGAIN, from_state=ended.state, actor=actor, reason=reason, details=details
        ).save()
        log_on_commit(ended, action=AuditAction.HOLD_AGAIN, from_state=ended.state, actor=actor, reason=reason)
    return HoldAgain(order, held, taken, unseated=[names[s] for s in taken if s in names])


def _held_again_before(ended: Order) -> HoldAgain | None:
    entry = ended.audit_entries.filter(action=AuditAction.HOLD_AGAIN).order_by("-id").first()
    if entry is None:
        return None
    made = Order.objects.select_related("flight").get(pk=entry.details["new_order"])
    names = {p["seat"]: p for p in ended.passengers or []}
    taken = entry.details["taken"]
    return HoldAgain(made, entry.details["held"], taken, [names[s] for s in taken if s in names], repeated=True)


def _hold_what_is_free(order: Order, *, wanted: list[str], actor: str, now: dt.datetime) -> list[str]:
    """Hold `wanted` on the new order, leaving out each seat the selection is refused for (taken by another
    order meanwhile, or gone from the seat map), through the traveller's own seat change (its checks,
    locks and events). Returns the seats held."""
    left = list(wanted)
    for _round in range(HOLD_ROUNDS):
        if not left:
            return []
        try:
            return select_seats(order_id=order.pk, labels=left, actor=actor, now=now).status["Seats"]
        except (SeatsTaken, InvalidInput) as exc:
            refused = exc.extra.get("seats") or []
            if isinstance(exc, InvalidInput) and not refused:
                raise
            # Without names (two changes at the same instant), try again without any seat now seen taken.
            left = [s for s in left if s not in refused] if refused else _visibly_free(order, left, now=now)
    return []


def _visibly_free(order: Order, labels: list[str], *, now: dt.datetime) -> list[str]:
    free = set(free_seat_labels(flight=order.flight, holder=order.pk, now=now))
    return [s for s in labels if s in free]


def _carry_passengers(order: Order, passengers: list[PassengerJSON], *, email: str, actor: str) -> None:
    """The names (checked when they were first given) and the email. Written as they are even when some seat
    has no name yet, or a name no seat (selectors.waiting_passengers): set_passengers wants every held seat
    named, which the traveller does next on the page."""
    if not passengers and not email:
        return
    order.passengers = passengers
    order.contact_email = email
    order.save(update_fields=["passengers", "contact_email", "updated_at"])
    record_change(
        order,
        action=AuditAction.PASSENGERS,
        from_state=order.state,
        actor=actor,
        reason=f"{len(passengers)} passenger(s) carried over",
    )
