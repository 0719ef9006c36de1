"""The simulated payment gateway: its timeout and failure rate, and what a real gateway promises and the
payments rely on: a repeated idempotency key never charges twice, and a status query tells what became of
a key. Its ledger is a file of its own (PAYMENT_GATEWAY_LEDGER), here the test's."""

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from orders import gateway_ledger_sql as ledger_sql
from orders.gateway import ChargeState, SimulatedGateway
from orders.gateway_ledger_sql import Ledger


@pytest.fixture(autouse=True)
def ledger(settings, tmp_path) -> Ledger:
    settings.PAYMENT_GATEWAY_LEDGER = str(tmp_path / "gateway-ledger.sqlite3")
    return Ledger(settings.PAYMENT_GATEWAY_LEDGER)


def charge(key: str, *, order_id: str = "o-1", timeout: float = 1):
    return SimulatedGateway().charge(
        order_id=order_id, code="12345", amount=Decimal("90.00"), currency="EUR", idempotency_key=key, timeout=timeout
    )


def test_the_simulated_gateway_times_out_after_the_timeout(settings, ledger):
    settings.PAYMENT_LATENCY_SECONDS = 5
    started = time.monotonic()
    result = charge("o-1:1", timeout=0.2)
    assert (result.ok, result.outcome) == (False, "timeout")
    assert 0.2 <= time.monotonic() - started < 1
    assert "0.2 s" in result.error
    assert SimulatedGateway().status(idempotency_key="o-1:1", timeout=1).state == ChargeState.UNKNOWN
    assert ledger.entries("o-1") == []


def test_the_simulated_gateway_fails_at_the_configured_rate(settings):
    settings.PAYMENT_LATENCY_SECONDS = 0
    settings.PAYMENT_FAILURE_RATE = 0
    assert all(charge(f"a-{i}").ok for i in range(50))
    settings.PAYMENT_FAILURE_RATE = 1
    assert not any(charge(f"b-{i}").ok for i in range(50))


def test_a_repeated_key_gets_its_first_outcome_and_is_never_charged_twice(settings, ledger):
    settings.PAYMENT_LATENCY_SECONDS = 0
    settings.PAYMENT_FAILURE_RATE = 0
    assert charge("o-1:1").ok
    settings.PAYMENT_FAILURE_RATE = 1  # would decline a new key
    assert charge("o-1:1").ok
    declined = charge("o-1:2")
    assert (declined.ok, declined.outcome) == (False, "declined")
    settings.PAYMENT_FAILURE_RATE = 0  # would charge a new key
    assert charge("o-1:2") == declined
    assert [(e.idempotency_key, e.charged) for e in ledger.entries("o-1")] == [("o-1:1", True), ("o-1:2", False)]
    assert ledger.charges("o-1") == 1
    assert ledger.entries("o-1")[0].amount == Decimal("90.00")


def test_calls_racing_with_one_key_charge_once_and_all_get_the_same_outcome(settings, ledger):
    settings.PAYMENT_LATENCY_SECONDS, settings.PAYMENT_FAILURE_RATE = 0.05, 0.5
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: charge("o-2:1", order_id="o-2"), range(8)))
    assert len(set(results)) == 1
    assert len(ledger.entries("o-2")) == 1


def test_the_status_query_tells_charged_declined_or_never_seen(settings):
    settings.PAYMENT_LATENCY_SECONDS = 0
    gateway = SimulatedGateway()
    settings.PAYMENT_FAILURE_RATE = 0
    charge("o-3:1", order_id="o-3")
    settings.PAYMENT_FAILURE_RATE = 1
    charge("o-3:2", order_id="o-3")
    assert gateway.status(idempotency_key="o-3:1", timeout=1).state == ChargeState.CHARGED
    declined = gateway.status(idempotency_key="o-3:2", timeout=1)
    assert (declined.state, declined.error) == (
        ChargeState.DECLINED,
        "the bank declined the payment (simulated failure)",
    )
    assert gateway.status(idempotency_key="o-3:3", timeout=1).state == ChargeState.UNKNOWN


def test_the_ledger_forgets_keys_after_its_window_a_little_at_each_decision(ledger, monkeypatch):
    """It stays bounded by a week of traffic: each decision forgets up to two older than the window."""
    for i in range(5):
        ledger.decide(
            idempotency_key=f"old-{i}", order_id="o-old", amount=Decimal(1), currency="EUR", charged=True, error=""
        )
    monkeypatch.setattr(ledger_sql, "KEEP", ledger_sql.dt.timedelta(0))
    ledger.decide(idempotency_key="new-1", order_id="o-new", amount=Decimal(1), currency="EUR", charged=True, error="")
    assert len(ledger.entries("o-old")) == 3
    ledger.decide(idempotency_key="new-2", order_id="o-new", amount=Decimal(1), currency="EUR", charged=True, error="")
    ledger.decide(idempotency_key="new-3", order_id="o-new", amount=Decimal(1), currency="EUR", charged=True, error="")
    assert ledger.entries("o-old") == []
