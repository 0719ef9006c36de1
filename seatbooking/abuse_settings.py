"""Settings that bound abuse and keep secrets (imported whole by seatbooking/settings.py): throttles,
what one client may hold, logins, lookups, streams, tokens and response headers. docs/security.md says
what each limit stops and why its default is what it is."""

from seatbooking.environment import env_str

# --- Throttles (per client address; the API's and the pages' doors count together: orders/throttles.py) --
THROTTLE_RATES = {
    "create_order": env_str("THROTTLE_CREATE_ORDER", "120/min"),
    "change_seats": env_str("THROTTLE_CHANGE_SEATS", "600/min"),
    "payment": env_str("THROTTLE_PAYMENT", "60/min"),
}
# Find my booking: per client address (IPv6 by /64); failed lookups per booking reference
# whoever asks, and failed lookups of all references together (orders/throttles.py).
THROTTLE_RATES["find_booking"] = env_str("THROTTLE_FIND_BOOKING", "10/min")
THROTTLE_RATES["find_booking_reference"] = env_str("THROTTLE_FIND_BOOKING_REFERENCE", "5/min")
THROTTLE_RATES["find_booking_failures"] = env_str("THROTTLE_FIND_BOOKING_FAILURES", "60/min")
