"""Settings that bound abuse and keep secrets (imported whole by seatbooking/settings.py): throttles,
what one client may hold, logins, lookups, streams, tokens and response headers. docs/security.md says
what each limit stops and why its default is what it is."""

from datetime import timedelta

from seatbooking.environment import env_float, env_int, env_str

# --- Throttles (per client address; the API's and the pages' doors count together: orders/throttles.py) --
THROTTLE_RATES = {
    "create_order": env_str("THROTTLE_CREATE_ORDER", "120/min"),
    "change_seats": env_str("THROTTLE_CHANGE_SEATS", "600/min"),
    "payment": env_str("THROTTLE_PAYMENT", "60/min"),
}
# Find my booking, every request of one client address (IPv6 by /64): a person retyping, not a script.
THROTTLE_RATES["find_booking"] = env_str("THROTTLE_FIND_BOOKING", "10/min")

# --- What one client may hold (per client address, IPv6 by /64, and per browser session: either reaching a
# limit refuses; staff are not limited; orders/services/client_limits.py, docs/security.md) -------------------
# Live held seats of one client on one flight: two families of MAX_SEATS_PER_ORDER, a tenth of a 180-seat
# flight; no client can hold a flight's inventory ("seat spinning"). 0 turns the limit off.
CLIENT_HOLD_LIMIT_SEATS = env_int("CLIENT_HOLD_LIMIT_SEATS", 18)
# Open orders of one client (pending, holding seats or paying), all flights together: enough for a traveller
# booking several legs or an office behind one address booking at once. 0 turns the limit off.
CLIENT_OPEN_ORDERS_LIMIT = env_int("CLIENT_OPEN_ORDERS_LIMIT", 8)

# --- Response headers (core/headers.py; docs/security.md#response-headers-and-dependencies) ------------
# django-csp's policy: everything from this origin, no inline script or style, nothing may frame a page.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],  # fetches, streams, fonts: this origin only
        "script-src": ["'self'"],  # script files only: no inline script, event handler attribute or eval
        "style-src": ["'self'"],  # stylesheet files only: no <style> block or style attribute of ours
        "img-src": ["'self'", "data:"],  # the admin's and Swagger UI's icons are data: URLs in their CSS
        "object-src": ["'none'"],  # no plugins
        "base-uri": ["'none'"],  # an injected <base> cannot move relative links elsewhere
        "form-action": ["'self'"],  # a form posts only here: no injected form sends a name or code away
        "frame-ancestors": ["'none'"],  # no framing (clickjacking), as X-Frame-Options: DENY
    }
}
# DRF's browsable API page (its own template) sets a few style attributes: allowed there, nowhere else.
BROWSABLE_API_CSP_UPDATE = {"style-src-attr": ["'unsafe-inline'"]}
# Powerful browser features no page here uses, denied to every origin (an injected frame or script too).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
        "serial",
        "hid",
    )
}

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
# `make run`: a request's body must be complete this long after its head: a client that sends a body
# slowly (or a chunked one without end) is answered 408 and closed, not waited for with its connection.
WEB_BODY_TIMEOUT_SECONDS = env_float("WEB_BODY_TIMEOUT_SECONDS", 10)
# `make run`: connections open at once (streams included); one more is answered 503 and closed at once.
# Also kept under the process's file-descriptor limit, which the launcher raises to the hard limit.
WEB_MAX_CONNECTIONS = env_int("WEB_MAX_CONNECTIONS", 10_000)

# --- Admin login (core/admin_login.py, django-axes; docs/security.md#admin-login) -------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: a locked-out login is refused before a password is hashed
    "core.admin_login.BoundedPasswordBackend",  # Django's password check, a bounded number at once
]
# Failed logins that lock out, counted per (username, address) and per address alone: one address is
# stopped whatever usernames it tries, and no other address's failures lock an operator out.
AXES_FAILURE_LIMIT = env_int("ADMIN_LOGIN_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# A lockout's length; every attempt during it starts it again, so a guesser that keeps trying stays out.
AXES_COOLOFF_TIME = timedelta(minutes=env_float("ADMIN_LOGIN_COOLOFF_MINUTES", 15))
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # every failure is a row in the admin (Axes: access failures)
AXES_CLIENT_IP_CALLABLE = "core.admin_login.counted_address"  # the trusted client address, IPv6 by /64
AXES_LOCKOUT_CALLABLE = "core.admin_login.locked_out"  # the login page again, 429 with Retry-After
AXES_VERBOSE = False  # no banner in every process's log at start; failures and lockouts are still logged
# Password hashes one web process runs at once: each is a third of a second of CPU that would otherwise
# take the booking requests' threads; a login beyond it is refused at once (503, the page again).
ADMIN_LOGIN_HASHES_AT_ONCE = env_int("ADMIN_LOGIN_HASHES_AT_ONCE", 1)

# --- Find my booking's failures (orders/throttles.py; docs/security.md#find-my-booking) -------------------
# Failed lookups one address (IPv6 by /64) may make before each further one makes it wait before its
# next lookup: the base wait, doubled each time up to the longest. A traveller's typos stay free.
FIND_BOOKING_FREE_FAILURES = env_int("FIND_BOOKING_FREE_FAILURES", 5)
FIND_BOOKING_BACKOFF_SECONDS = env_float("FIND_BOOKING_BACKOFF_SECONDS", 2)
FIND_BOOKING_BACKOFF_MAX_SECONDS = env_float("FIND_BOOKING_BACKOFF_MAX_SECONDS", 900)
# Failures are forgotten this long after an address's (or a reference's) last one: waiting a night out
# does not buy a guesser a fresh start sooner.
FIND_BOOKING_FAILURE_MEMORY_SECONDS = env_int("FIND_BOOKING_FAILURE_MEMORY_SECONDS", 86400)
# Failed lookups of one reference, whoever asks, before each further failure of it makes the address that
# failed wait (doubling likewise) before trying that reference again. It never refuses the right name from
# an address that has not failed on it: strangers cannot lock the owner out.
FIND_BOOKING_REFERENCE_FREE_FAILURES = env_int("FIND_BOOKING_REFERENCE_FREE_FAILURES", 5)

# --- Tokens, links, stream tickets and sessions (orders/access.py; docs/security.md#tokens-links-and-sessions)
# An order that ended without a booking (failed, expired, cancelled): its token stops this long after the
# end. Long enough to read how it ended; it opens nothing anyone still needs.
ORDER_TOKEN_HOURS_AFTER_END = env_float("ORDER_TOKEN_HOURS_AFTER_END", 24)
# A booking (confirmed order): its token and its booking links stop this long after the flight departs.
# Until then they show the booking and its receipt (an API booking without names has no other way back);
# a month covers the trip and an expense claim after it.
BOOKING_ACCESS_DAYS_AFTER_FLIGHT = env_float("BOOKING_ACCESS_DAYS_AFTER_FLIGHT", 30)
# A stream ticket (POST /orders/{id}/events/ticket) opens the order's event stream within this many
# seconds of being issued; a stream once open stays open. Short: it travels in a URL.
STREAM_TICKET_SECONDS = env_int("STREAM_TICKET_SECONDS", 60)
# A browser session (the pages' access to the orders it started or found): a day is a booking (a hold
# of at most an hour, the payment) with room to spare; later, find my booking opens a booking again.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_SECONDS", 86400)
# Paths whose answers may carry an order's data or a secret: `Cache-Control: no-store` on every answer
# (core/cache_control.py), so that no cache or back button keeps a status, a booking or a token.
NO_STORE_PATHS = ("/orders", "/booking/", "/bookings/", "/find-booking")
