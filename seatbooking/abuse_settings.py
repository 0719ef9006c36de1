"""Settings that bound abuse and keep secrets (imported whole by seatbooking/settings.py): throttles,
what one client may hold, logins, lookups, streams, tokens and response headers. docs/security.md says
what each limit stops and why its default is what it is."""

from seatbooking.environment import env_float, env_int, env_str

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

# --- Event streams and slow clients (core/events/stream_gate.py, deploy/serve.py; docs/security.md) ------
# Streams one client address (IPv6 by /64) may have open in a web process: a family's tabs and devices
# behind one home router, with room to spare; not the thousands that starve the others. 0 turns it off.
STREAMS_PER_ADDRESS = env_int("STREAMS_PER_ADDRESS", 50)
# Threads the event streams share for their openings and their reads (each of them holds a pooled
# connection while it reads): the two connections WEB_THREADS leaves in the pool.
STREAM_THREADS = env_int("STREAM_THREADS", 2)
# How long an opening may wait for one of those threads before 503 `busy` (the pages' script retries).
STREAM_OPENING_MAX_WAIT_SECONDS = env_float("STREAM_OPENING_MAX_WAIT_SECONDS", 5)
# `make run` (deploy/serve.py): a connection's request head must be complete this long after its first
# byte (or after the connection opened): a client that sends headers slowly is closed, not waited for.
WEB_HEADER_TIMEOUT_SECONDS = env_float("WEB_HEADER_TIMEOUT_SECONDS", 10)
# `make run`: connections open at once (streams included); one more is answered 503 and closed at once.
# Also kept under the process's file-descriptor limit, which the launcher raises to the hard limit.
WEB_MAX_CONNECTIONS = env_int("WEB_MAX_CONNECTIONS", 10_000)
