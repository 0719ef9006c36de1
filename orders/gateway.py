"""The payment gateway behind a small interface, so that a real one can replace the simulation.

Settings: PAYMENT_GATEWAY names the class; the simulation reads PAYMENT_FAILURE_RATE and
PAYMENT_LATENCY_SECONDS at each call, so the environment of the worker decides.
"""

import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from orders.models import AttemptOutcome


@dataclass(frozen=True)
class ChargeResult:
    ok: bool
    outcome: AttemptOutcome
    error: str = ""


class PaymentGateway(Protocol):
    def charge(
        self, *, order_id: str, code: str, amount: Decimal, currency: str, idempotency_key: str, timeout: float
    ) -> ChargeResult:
        """Charge `amount` (in `currency`, an ISO 4217 code) to the order once. Must answer within
        `timeout` seconds. A real gateway dedupes on `idempotency_key` (one per order), so retrying after
        a lost answer cannot charge twice."""


class SimulatedGateway:
    """Answers after 0.5-1.5x PAYMENT_LATENCY_SECONDS; declines PAYMENT_FAILURE_RATE of calls."""

    def charge(
        self, *, order_id: str, code: str, amount: Decimal, currency: str, idempotency_key: str, timeout: float
    ) -> ChargeResult:
        latency = settings.PAYMENT_LATENCY_SECONDS * random.uniform(0.5, 1.5)
        if latency > timeout:
            time.sleep(timeout)
            return ChargeResult(False, AttemptOutcome.TIMEOUT, f"the gateway did not answer within {timeout:g} s")
        time.sleep(latency)
        if random.random() < settings.PAYMENT_FAILURE_RATE:
            return ChargeResult(False, AttemptOutcome.DECLINED, "the bank declined the payment (simulated failure)")
        return ChargeResult(True, AttemptOutcome.SUCCESS)


def get_gateway() -> PaymentGateway:
    gateway: PaymentGateway = import_string(settings.PAYMENT_GATEWAY)()  # import_string returns Any
    return gateway
