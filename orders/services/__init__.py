"""Every change of an order, one function each: booking, payment, the operators' and the timer loop's.

Callers use this package's names (`from orders import services; services.select_seats(...)`); the
modules behind it: booking (create, select seats, cancel), payments (submit, attempts, retry policy),
manage (a paid booking's seat change and cancellation) with change_outcome, refunds, money (the
gateway calls after booking: charges of a change, refunds) and late_money, notices (their emails),
operators (the admin's actions), recovery (an ended order's seats held again by a new order), batches
(the timer loop's), seats (a selection's seats; its one PostgreSQL statement in seat_change_sql) and
common (what every change shares).

Rules every function here follows (the locking rules and why: docs/locking.md):
- one transaction per change; the order row is locked first (`select_for_update`) before anything is
  checked; then, on the ORM's path (SQLite), the seat rows it touches, in one statement sorted by id; on
  PostgreSQL a seat change is one statement (seat_change_sql.py) in which the partial unique index, not a
  seat lock, decides who holds a seat. Lock order is always order -> seats, so two changes never wait on
  each other in a cycle;
- the state machine (django-fsm transitions on Order) decides which changes a state allows;
- a seat is made live (held) only where nothing else can hold it meanwhile: under its seat lock on the
  ORM's path, by an insert the partial unique index admits on PostgreSQL; releasing an order's holds
  needs only the order's lock, since taking liveness away can never put two live holds on a seat;
- a hold whose deadline passed counts as gone on every path, whether or not a sweeper has run yet;
- every change writes an AuditEntry and publishes the order's new status (and the seats it changed on
  the flight's channel) in its transaction; delivery and work for a worker start only once it commits.
"""

from inventory.services import SeatsTaken
from orders.services.batches import enqueue_due_payments, expire_lapsed_holds
from orders.services.booking import cancel_order, create_order, new_order_id, select_best_seats, select_seats
from orders.services.common import HoldExpired, OrderChange, WrongState
from orders.services.confirmation import enqueue_due_confirmations, send_confirmation
from orders.services.late_money import LateMoney, keep_late_payment
from orders.services.manage import (
    cancel_booking,
    cancel_order_or_booking,
    change_booking_seats,
    change_seats_or_selection,
)
from orders.services.money import (
    MoneyTicket,
    enqueue_due_money,
    finish_money_attempt,
    reconcile_money_attempt,
    retry_refund,
    start_money_attempt,
)
from orders.services.money_queue import MoneyKind
from orders.services.notices import enqueue_due_notices, send_notice
from orders.services.operators import expire_now, retry_payment_now, revoke_booking_links
from orders.services.passengers import set_passengers
from orders.services.payments import (
    AttemptTicket,
    attempt_key,
    backoff_seconds,
    finish_payment_attempt,
    reconcile_payment_attempt,
    start_payment_attempt,
    submit_payment,
)
from orders.services.recovery import HoldAgain, hold_again

__all__ = [
    "AttemptTicket",
    "HoldAgain",
    "HoldExpired",
    "LateMoney",
    "MoneyKind",
    "MoneyTicket",
    "OrderChange",
    "SeatsTaken",
    "WrongState",
    "attempt_key",
    "backoff_seconds",
    "cancel_booking",
    "cancel_order",
    "cancel_order_or_booking",
    "change_booking_seats",
    "change_seats_or_selection",
    "create_order",
    "enqueue_due_confirmations",
    "enqueue_due_money",
    "enqueue_due_notices",
    "enqueue_due_payments",
    "expire_lapsed_holds",
    "expire_now",
    "finish_money_attempt",
    "finish_payment_attempt",
    "hold_again",
    "keep_late_payment",
    "new_order_id",
    "reconcile_money_attempt",
    "reconcile_payment_attempt",
    "retry_payment_now",
    "retry_refund",
    "revoke_booking_links",
    "select_best_seats",
    "select_seats",
    "send_confirmation",
    "send_notice",
    "set_passengers",
    "start_money_attempt",
    "start_payment_attempt",
    "submit_payment",
]
