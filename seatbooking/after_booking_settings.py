"""Settings: what a traveller may do with a paid booking, and the refund policy (docs/manage-booking.md)."""

from seatbooking.environment import env_bool, env_float, env_int

# --- After booking: seat changes, cancellations, refunds (the policy: docs/manage-booking.md) ---------------
# Travellers' seat changes and cancellations close this long before departure (staff may still cancel).
BOOKING_CHANGES_CLOSE_SECONDS = env_float("BOOKING_CHANGES_CLOSE_SECONDS", 3 * 3600)
# A cancellation within this long of the booking's confirmation is refunded in full; after it, less the fee.
REFUND_FULL_WINDOW_SECONDS = env_float("REFUND_FULL_WINDOW_SECONDS", 24 * 3600)
CANCELLATION_FEE_PERCENT = env_float("CANCELLATION_FEE_PERCENT", 20)
# Whether a traveller may give back some of a booking's seats (their passengers) and keep the rest.
PARTIAL_CANCELLATION = env_bool("PARTIAL_CANCELLATION", True)
# A refund is tried this many times (with the payments' backoff and timeout), then left FAILED to an operator.
REFUND_MAX_ATTEMPTS = env_int("REFUND_MAX_ATTEMPTS", 5)
# The simulated gateway's share of refund calls that fail.
REFUND_FAILURE_RATE = env_float("REFUND_FAILURE_RATE", 0.15)
# How long after a payment failed the gateway is asked whether it took the money after all (late money).
LATE_PAYMENT_WINDOW_SECONDS = env_float("LATE_PAYMENT_WINDOW_SECONDS", 3600)
