"""The statements core/idempotency.py sends by hand (PostgreSQL): a key's waits bounded for its transaction only."""

# SET LOCAL for three settings at once: how long to wait for another request holding the key, and how long
# this transaction may sit idle or run (the lease): parameters wait_ms, lease_ms, lease_ms (e.g. "250ms").
BOUND_WAITS = (
    "SELECT set_config('lock_timeout', %s, true), "
    "set_config('idle_in_transaction_session_timeout', %s, true), "
    "set_config('statement_timeout', %s, true)"
)
# Back to the connection's lock_timeout: the bound is for the key only.
DEFAULT_LOCK_TIMEOUT = "SET LOCAL lock_timeout TO DEFAULT"
