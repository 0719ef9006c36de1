"""The words travellers read: outcomes said plainly (each payment reason once, the gateway's own words
never), the hold-again button, durations."""

from typing import Any

from orders.selectors import OrderStatus
from orders.wording import duration_words, outcome, payment_reasons, retrying_words

FAILED_THREE_TIMES = (
    "Payment failed after 3 attempts (attempt 1: the bank declined the payment (simulated failure); "
    "attempt 2: the bank declined the payment (simulated failure); attempt 3: timeout). Seats released."
)


def status(state: str, error: str = "", *, payment_status: str = "", attempts_left: int = 0) -> OrderStatus:
    return {
        "OrderID": "o-1",
        "FlightID": "F-1",
        "State": state,
        "Seats": [],
        "HoldExpiresAt": None,
        "AttemptsLeft": attempts_left,
        "LastPaymentErr": error,
        "PaymentStatus": payment_status,
        "Total": "0.00",
        "Currency": "EUR",
        "Reference": "",
        "Passengers": [],
        "ContactEmail": "",
        "Change": None,
        "Refund": None,
    }


def ended(state: str, error: str = "", *, attempts: int = 3, seats: tuple[str, ...] = ()) -> dict[str, Any]:
    said = outcome(status(state, error), flight_code="F-1", attempts=attempts, ended_seats=list(seats))
    assert said is not None
    return said


def test_a_failed_payment_names_each_reason_once_in_plain_words():
    assert payment_reasons(FAILED_THREE_TIMES) == (
        " (the bank declined the payment; the payment service did not answer in time)"
    )
    assert payment_reasons("") == ""
    assert ended("FAILED", FAILED_THREE_TIMES, seats=("1A", "1B")) == {
        "title": "Payment failed",
        "text": "The payment did not go through after 3 tries (the bank declined the payment; the payment service "
        "did not answer in time). Nothing was charged, and seats 1A, 1B went back on sale. You can hold them "
        "again, keeping the names you gave.",
        "again": "Hold seats 1A, 1B again",
        "seats": ["1A", "1B"],
    }
    gateway_error = "Payment failed after 1 attempts (attempt 1: gateway error: OSError). Seats released."
    assert ended("FAILED", gateway_error, attempts=1)["text"] == (
        "The payment did not go through after 1 try (the payment service had a problem). Nothing was charged."
    )


def test_a_lapsed_hold_and_a_cancel_say_what_became_of_the_seats_without_blame(settings):
    settings.SEAT_HOLD_SECONDS = 900
    expired = ended("EXPIRED", seats=("2C",))
    assert expired["text"] == (
        "Your hold on seat 2C ended after 15 minutes, so it went back on sale. Nothing was charged. You can hold "
        "it again."
    )
    assert expired["again"] == "Hold seat 2C again"
    cancelled = ended("CANCELLED")
    assert (cancelled["text"], cancelled["again"]) == ("You cancelled this booking. Nothing was charged.", "")


def test_a_retry_says_which_try_failed_in_plain_words():
    retrying = status(
        "PROCESSING_PAYMENT",
        "Attempt 1 of 3 failed: the bank declined the payment (simulated failure). Retrying in 1 s.",
        payment_status="retrying",
        attempts_left=2,
    )
    assert retrying_words(retrying, attempts=3) == (
        "Try 1 of 3 did not go through (the bank declined the payment); trying again shortly."
    )
    assert retrying_words(status("PROCESSING_PAYMENT", payment_status="trying"), attempts=3) == ""


def test_durations_in_words():
    assert duration_words(900) == "15 minutes"
    assert duration_words(20) == "20 seconds"
    assert duration_words(60) == "1 minute"
    assert duration_words(90) == "1 minute 30 seconds"
