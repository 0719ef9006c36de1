"""django-q2 tasks. Each only calls services, and each is safe to run twice (redelivery, duplicates)."""

import dataclasses
import datetime as dt
import logging
import time

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from core.worker import WorkStopped, stoppable
from orders import selectors, services
from orders.gateway import ChargeResult, ChargeState, get_gateway
from orders.models import AttemptOutcome, Order
from orders.services import AttemptTicket

log = logging.getLogger(__name__)


def process_payment(order_id: str) -> str:
    """Make the order's next payment attempt, if one is due, and record its answer. An attempt whose
    answer was lost is first reconciled with the gateway's status query; it is charged (again, with the
    same idempotency key) only if the gateway never saw it. At most three waits for the gateway (status,
    charge, status after a timeout), each within PAYMENT_TIMEOUT_SECONDS: Q_CLUSTER's timeout allows it."""
    ticket = services.start_payment_attempt(order_id=order_id)
    if ticket is not None and ticket.reconcile:
        reconciled = reconcile(ticket)
        if reconciled is None:
            return f"attempt {ticket.number} reconciled with the gateway"
        ticket = reconciled
    if ticket is None:
        return "nothing due"
    result = charge(ticket)
    order = record(ticket, result)
    return f"attempt {ticket.number}: {result.outcome}; order {order.state}"


# Between tries to record an answer while the database is away (a restart takes a second or two).
RECORD_RETRY_SECONDS = 0.25


def record(ticket: AttemptTicket, result: ChargeResult) -> Order:
    """Record the gateway's answer. A database that went away while the answer was on its way (a restart
    closed the connection) is tried again on a fresh connection for PAYMENT_LOST_MARGIN_SECONDS; past that
    the answer is left to reconciliation, which asks the gateway. Safe to repeat: a recorded answer (its
    commit done, only the acknowledgement lost) is not recorded twice."""
    deadline = time.monotonic() + settings.PAYMENT_LOST_MARGIN_SECONDS
    warned = False
    while True:
        try:
            return services.finish_payment_attempt(
                order_id=ticket.order_id, number=ticket.number, result=result, started_at=ticket.started_at
            )
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() >= deadline:
                raise
            if not warned:  # one line per blip, not per try
                log.warning("order %s: recording attempt %s: %s; trying again", ticket.order_id, ticket.number, exc)
                warned = True
            connection.close()  # the next query opens a fresh connection
            time.sleep(RECORD_RETRY_SECONDS)


def reconcile(ticket: AttemptTicket) -> AttemptTicket | None:
    """Ask the gateway what became of the attempt and record it; the ticket to charge it with if the
    gateway never saw it. A gateway that cannot tell leaves the attempt as it is, asked again later."""
    try:
        found = get_gateway().status(idempotency_key=ticket.idempotency_key, timeout=settings.PAYMENT_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - unanswered, the attempt stays open: nothing may be charged twice
        log.warning("payment gateway status query failed for %s attempt %s", ticket.order_id, ticket.number)
        return None
    log.debug("order %s: attempt %s reconciled: the gateway says %s", ticket.order_id, ticket.number, found.state)
    return services.reconcile_payment_attempt(order_id=ticket.order_id, number=ticket.number, found=found)


def charge(ticket: AttemptTicket) -> ChargeResult:
    """The gateway's answer to the attempt. A timeout on our side is not taken for a refusal at once: the
    gateway may have charged after all, so its status query decides."""
    answer: ChargeResult | None = None
    try:
        with stoppable():  # a worker that is stopping may cut the wait short: the attempt is handed back
            answer = get_gateway().charge(
                order_id=ticket.order_id,
                code=ticket.code,
                amount=ticket.amount,
                currency=ticket.currency,
                idempotency_key=ticket.idempotency_key,
                timeout=settings.PAYMENT_TIMEOUT_SECONDS,
            )
    except WorkStopped:  # unless the gateway had answered just before the signal: keep its answer then
        return answer or ChargeResult(False, AttemptOutcome.INTERRUPTED, "the worker stopped during the attempt")
    except Exception as exc:  # a broken gateway is a failed attempt, not a stuck order
        log.exception("payment gateway error for %s", ticket.order_id)
        # The call may have reached the gateway before it broke (a connection reset): its status decides.
        failed = ChargeResult(False, AttemptOutcome.ERROR, f"gateway error: {exc.__class__.__name__}")
        return answer_by_status(ticket, failed)
    if answer.outcome == AttemptOutcome.TIMEOUT:
        return answer_by_status(ticket, answer)
    return answer


def answer_by_status(ticket: AttemptTicket | services.MoneyTicket, unanswered: ChargeResult) -> ChargeResult:
    """The gateway's record of an attempt whose call got no answer (a timeout, a broken call); the
    failure stands only if the gateway never saw it, or cannot tell."""
    try:
        found = get_gateway().status(idempotency_key=ticket.idempotency_key, timeout=settings.PAYMENT_TIMEOUT_SECONDS)
    except Exception:  # noqa: BLE001 - the failure stands, unverified: what became of it is asked again later
        return dataclasses.replace(unanswered, unverified=True)
    return found.result() or unanswered


def send_confirmation_email(order_id: str) -> str:
    """Email the booking's confirmation; a redelivered task finds it sent and sends nothing. A failed send
    is retried by the timer loop after a backoff (orders/services/confirmation.py)."""
    return str(services.send_confirmation(order_id=order_id))


def process_money(kind: str, pk: int) -> str:
    """The next gateway call of a seat change's charge or a refund (orders/services/money.py), with the
    first payment's safeguards: a try whose answer was lost, or that failed unverified, is asked about
    before anything else is called; then the next try, if one is due at once."""
    money_kind = services.MoneyKind(kind)
    for _ in range(3):  # an unverified try asked about, a lost one, then a call
        ticket = services.start_money_attempt(kind=money_kind, pk=pk)
        if ticket is None:
            return "nothing due"
        if ticket.reconcile:
            try:
                found = get_gateway().status(
                    idempotency_key=ticket.idempotency_key, timeout=settings.PAYMENT_TIMEOUT_SECONDS
                )
            except Exception:  # noqa: BLE001 - unanswered, the try stays open: nothing may move twice
                log.warning("payment gateway status query failed for %s %s try %s", kind, pk, ticket.number)
                return "status unknown"
            again = services.reconcile_money_attempt(ticket=ticket, found=found)
            if again is None:
                continue
            ticket = again
        result = money_call(ticket)
        services.finish_money_attempt(ticket=ticket, result=result)
        return f"{kind} {pk} try {ticket.number}: {result.outcome}"
    return "asked the gateway"


def money_call(ticket: services.MoneyTicket) -> ChargeResult:
    """The gateway's answer to a charge or a refund; no answer is settled by its status query, as `charge`."""
    gateway = get_gateway()
    answer: ChargeResult | None = None
    key, timeout = ticket.idempotency_key, settings.PAYMENT_TIMEOUT_SECONDS
    try:
        with stoppable():
            if ticket.kind == services.MoneyKind.REFUND:
                answer = gateway.refund(
                    order_id=ticket.order_id,
                    amount=ticket.amount,
                    currency=ticket.currency,
                    idempotency_key=key,
                    timeout=timeout,
                )
            else:
                answer = gateway.charge(
                    order_id=ticket.order_id,
                    code=ticket.code,
                    amount=ticket.amount,
                    currency=ticket.currency,
                    idempotency_key=key,
                    timeout=timeout,
                )
    except WorkStopped:
        return answer or ChargeResult(False, AttemptOutcome.INTERRUPTED, "the worker stopped during the call")
    except Exception as exc:
        log.exception("payment gateway error for %s %s", ticket.kind, ticket.pk)
        return answer_by_status(
            ticket, ChargeResult(False, AttemptOutcome.ERROR, f"gateway error: {exc.__class__.__name__}")
        )
    if answer.outcome == AttemptOutcome.TIMEOUT:
        return answer_by_status(ticket, answer)
    return answer


# check_late_payments stops asking the gateway after this long (the rest waits for the next pass).
LATE_PAYMENTS_BUDGET_SECONDS = 20


def check_late_payments(*, now: dt.datetime | None = None) -> dict[str, str]:
    """Ask the gateway about the unanswered payment attempts of the last LATE_PAYMENT_WINDOW_SECONDS: a
    charge found that the order did not keep is kept with its seats or refunded
    (orders/services/late_money.py). The timer loop's housekeeping runs it each minute, the admin on
    demand; it asks for LATE_PAYMENTS_BUDGET_SECONDS at most. Returns what it did, by order."""
    done: dict[str, str] = {}
    deadline = time.monotonic() + LATE_PAYMENTS_BUDGET_SECONDS
    for order, number in selectors.unanswered_payment_attempts(now=now):
        if time.monotonic() >= deadline:
            break
        key = services.attempt_key(order, number)
        try:
            found = get_gateway().status(idempotency_key=key, timeout=settings.PAYMENT_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - asked again at the next pass
            log.warning("payment gateway status query failed for late payment of %s", order.pk)
            continue
        if found.state == ChargeState.CHARGED:
            outcome = services.keep_late_payment(order_id=order.pk, number=number, actor="system:payments")
            done[order.pk] = str(outcome)
    return done


def send_notice_email(notice_id: int) -> str:
    """Email a notice about a booking (a change, a cancellation, a refund); sent at most once."""
    return str(services.send_notice(notice_id=notice_id))
