"""django-q2 tasks. Each only calls services, and each is safe to run twice (redelivery, duplicates)."""

import logging

from django.conf import settings

from core.worker import WorkStopped, stoppable
from orders import services
from orders.gateway import ChargeResult, get_gateway
from orders.models import AttemptOutcome

log = logging.getLogger(__name__)


def process_payment(order_id: str) -> str:
    """Make the order's next payment attempt, if one is due, and record its answer."""
    ticket = services.start_payment_attempt(order_id=order_id)
    if ticket is None:
        return "nothing due"
    answer: ChargeResult | None = None
    try:
        with stoppable():  # a worker that is stopping may cut the wait short: the attempt is handed back
            answer = get_gateway().charge(
                order_id=order_id,
                code=ticket.code,
                amount=ticket.amount,
                currency=ticket.currency,
                idempotency_key=order_id,
                timeout=settings.PAYMENT_TIMEOUT_SECONDS,
            )
        result = answer
    except WorkStopped:  # unless the gateway had answered just before the signal: keep its answer then
        result = answer or ChargeResult(False, AttemptOutcome.INTERRUPTED, "the worker stopped during the attempt")
    except Exception as exc:  # a broken gateway is a failed attempt, not a stuck order
        log.exception("payment gateway error for %s", order_id)
        result = ChargeResult(False, AttemptOutcome.ERROR, f"gateway error: {exc.__class__.__name__}")
    order = services.finish_payment_attempt(order_id=order_id, number=ticket.number, result=result)
    return f"attempt {ticket.number}: {result.outcome}; order {order.state}"


def send_confirmation_email(order_id: str) -> str:
    """Email the booking's confirmation; a redelivered task finds it sent and sends nothing. A failed send
    is retried by the timer loop after a backoff (orders/services/confirmation.py)."""
    return str(services.send_confirmation(order_id=order_id))
