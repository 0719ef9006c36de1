"""The payment gateway behind a small interface, so that a real one can replace the simulation.

Settings: PAYMENT_GATEWAY names the class; the simulation reads PAYMENT_FAILURE_RATE,
PAYMENT_LATENCY_SECONDS and PAYMENT_GATEWAY_LEDGER at each call, so the environment of the worker decides.
"""

import random
import time
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from orders.gateway_ledger_sql import Ledger, LedgerEntry
from orders.models import AttemptOutcome


@dataclass(frozen=True)
class ChargeResult:
    ok: bool
    outcome: AttemptOutcome
    error: str = ""
    # No answer, and the gateway's status query failed too: whether money moved is not known yet.
    unverified: bool = False


class ChargeState(StrEnum):
    """What the gateway did with an idempotency key, as its status query tells it."""

    CHARGED = "charged"
    DECLINED = "declined"
    UNKNOWN = "unknown"  # never seen: nothing was charged, and a call with the key may be made (again)


@dataclass(frozen=True)
class ChargeStatus:
    state: ChargeState
    error: str = ""  # why it was declined

    def result(self) -> ChargeResult | None:
        """The charge's answer as the call would have given it; None if the gateway never saw the key."""
        if self.state == ChargeState.CHARGED:
            return ChargeResult(True, AttemptOutcome.SUCCESS)
        if self.state == ChargeState.DECLINED:
            return ChargeResult(False, AttemptOutcome.DECLINED, self.error or "the bank declined the payment")
        return None


class PaymentGateway(Protocol):
    def charge(
        self, *, order_id: str, code: str, amount: Decimal, currency: str, idempotency_key: str, timeout: float
    ) -> ChargeResult:
        """Charge `amount` (in `currency`, an ISO 4217 code) to the order once. Must answer within
        `timeout` seconds. The gateway dedupes on `idempotency_key` (one per attempt): a call repeated with
        a key it has seen gets that key's first outcome back and charges nothing."""

    def refund(
        self, *, order_id: str, amount: Decimal, currency: str, idempotency_key: str, timeout: float
    ) -> ChargeResult:
        """Pay `amount` back to the order's payer once, like `charge` (the same key rules; `status` tells
        what became of a refund's key too). Success: the money went back."""

    def status(self, *, idempotency_key: str, timeout: float) -> ChargeStatus:
        """What became of the charge made with `idempotency_key` (a payment-intent lookup): charged,
        declined, or unknown if the gateway never saw the key. Must answer within `timeout` seconds.

        `unknown` must be final: after it, the attempt counts as failed or is made again, and a next attempt
        has a key of its own. An adapter for a real gateway, where a call may still be in flight, makes sure
        of that before answering it (it cancels or voids whatever is pending under the key, or waits out the
        gateway's settle time); else a late charge and the next attempt would both be taken."""


DECLINED_MESSAGE = "the bank declined the payment (simulated failure)"
REFUND_FAILED_MESSAGE = "the bank could not take the refund (simulated failure)"


class SimulatedGateway:
    """Answers after 0.5-1.5x PAYMENT_LATENCY_SECONDS; declines PAYMENT_FAILURE_RATE of calls. The bank
    decides halfway through (the rest is the answer's way back, where a worker's crash or a database blip
    can lose it) and writes its decision to the ledger (PAYMENT_GATEWAY_LEDGER) at that moment."""

    def charge(
        self, *, order_id: str, code: str, amount: Decimal, currency: str, idempotency_key: str, timeout: float
    ) -> ChargeResult:
        return self._call(
            order_id=order_id,
            amount=amount,
            currency=currency,
            idempotency_key=idempotency_key,
            timeout=timeout,
            failure_rate=settings.PAYMENT_FAILURE_RATE,
            declined=DECLINED_MESSAGE,
        )

    def refund(
        self, *, order_id: str, amount: Decimal, currency: str, idempotency_key: str, timeout: float
    ) -> ChargeResult:
        """A refund is written to the ledger as a negative amount (Ledger.refunds counts them)."""
        return self._call(
            order_id=order_id,
            amount=-amount,
            currency=currency,
            idempotency_key=idempotency_key,
            timeout=timeout,
            failure_rate=settings.REFUND_FAILURE_RATE,
            declined=REFUND_FAILED_MESSAGE,
        )

    def _call(
        self,
        *,
        order_id: str,
        amount: Decimal,
        currency: str,
        idempotency_key: str,
        timeout: float,
        failure_rate: float,
        declined: str,
    ) -> ChargeResult:
        ledger = Ledger(settings.PAYMENT_GATEWAY_LEDGER)
        seen = ledger.find(idempotency_key)
        if seen is not None:  # a repeated key: its first outcome, no second charge
            return _result(seen)
        latency = settings.PAYMENT_LATENCY_SECONDS * random.uniform(0.5, 1.5)
        if latency > timeout:  # the call never reached the bank: nothing is recorded, its status is unknown
            time.sleep(timeout)
            return ChargeResult(False, AttemptOutcome.TIMEOUT, f"the gateway did not answer within {timeout:g} s")
        time.sleep(latency / 2)
        refused = random.random() < failure_rate
        entry = ledger.decide(
            idempotency_key=idempotency_key,
            order_id=order_id,
            amount=amount,
            currency=currency,
            charged=not refused,
            error=declined if refused else "",
        )
        time.sleep(latency / 2)
        return _result(entry)

    def status(self, *, idempotency_key: str, timeout: float) -> ChargeStatus:
        entry = Ledger(settings.PAYMENT_GATEWAY_LEDGER).find(idempotency_key)
        if entry is None:
            return ChargeStatus(ChargeState.UNKNOWN)
        return ChargeStatus(ChargeState.CHARGED) if entry.charged else ChargeStatus(ChargeState.DECLINED, entry.error)


def _result(entry: LedgerEntry) -> ChargeResult:
    if entry.charged:
        return ChargeResult(True, AttemptOutcome.SUCCESS)
    return ChargeResult(False, AttemptOutcome.DECLINED, entry.error)


def get_gateway() -> PaymentGateway:
    gateway: PaymentGateway = import_string(settings.PAYMENT_GATEWAY)()  # import_string returns Any
    return gateway
