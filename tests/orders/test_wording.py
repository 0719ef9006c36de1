"""The words travellers read: payment failures said once and plainly, durations."""

from orders.wording import duration_words, payment_failure_words


def test_a_failed_payment_names_each_reason_once_without_the_simulation_note():
    error = (
        "Payment failed after 3 attempts (attempt 1: the bank declined the payment (simulated failure); "
        "attempt 2: the bank declined the payment (simulated failure); attempt 3: timeout). Seats released."
    )
    assert payment_failure_words(error, 3) == (
        "The payment did not go through after 3 tries (the bank declined the payment; timeout). Nothing was "
        "charged, and your seats were released."
    )
    assert payment_failure_words("", 3).startswith("The payment did not go through after 3 tries. ")


def test_durations_in_words():
    assert duration_words(900) == "15 minutes"
    assert duration_words(20) == "20 seconds"
    assert duration_words(60) == "1 minute"
    assert duration_words(90) == "1 minute 30 seconds"
