"""The orders app's models: the order and its payment (orders.py), and what happens to a booking after it
is paid (after_booking.py). Import them from here."""

from orders.models.after_booking import (
    BookingChange,
    ChangeState,
    Notice,
    NoticeKind,
    Refund,
    RefundReason,
    RefundState,
)
from orders.models.orders import (
    CLIENT_COUNTED_STATES,
    OPEN_STATES,
    AttemptOutcome,
    AuditAction,
    AuditEntry,
    MetricsSnapshot,
    Order,
    OrderState,
    PaymentAttempt,
    PaymentStatus,
    is_lapsed_hold,
    lapsed_holds,
)

__all__ = [
    "CLIENT_COUNTED_STATES",
    "OPEN_STATES",
    "AttemptOutcome",
    "AuditAction",
    "AuditEntry",
    "BookingChange",
    "ChangeState",
    "MetricsSnapshot",
    "Notice",
    "NoticeKind",
    "Order",
    "OrderState",
    "PaymentAttempt",
    "PaymentStatus",
    "Refund",
    "RefundReason",
    "RefundState",
    "is_lapsed_hold",
    "lapsed_holds",
]
