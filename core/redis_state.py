"""Redis is optional at every moment: what uses it goes on without it, and says so once.

Each user of Redis in a process (the cache, the event publisher) holds a `RedisBreaker`. After a
failure the breaker is open: callers skip Redis at once (no connection attempt, no timeout per request)
and use their fallback, until `RETRY_SECONDS` have passed and one call tries Redis again. The change
down -> up and up -> down is logged once each (a WARNING and an INFO line), never per request.
"""

import logging
import threading
import time

import redis

log = logging.getLogger("seatbooking.redis")

# Short socket timeouts for request-path clients: a Redis that hangs costs a request at most this much.
SOCKET_TIMEOUT_SECONDS = 0.5
RETRY_SECONDS = 1.0

_breakers: dict[str, "RedisBreaker"] = {}
_registry_lock = threading.Lock()


def breaker(name: str) -> "RedisBreaker":
    """The process's one breaker for `name` (Django makes a cache object per thread and per request)."""
    with _registry_lock:
        if name not in _breakers:
            _breakers[name] = RedisBreaker(name)
        return _breakers[name]


class RedisBreaker:
    def __init__(self, name: str) -> None:
        self.name = name
        self.down_since: float | None = None  # time.time() of the first failure of this outage
        self.last_error = ""
        self._retry_at = 0.0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        """True if Redis should be tried now: it is up, or the retry interval has passed."""
        return self.down_since is None or time.monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._retry_at = time.monotonic() + RETRY_SECONDS
            self.last_error = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            if self.down_since is not None:
                return
            self.down_since = time.time()
        log.warning(
            "Redis unreachable for %s (%s); going on without it until it answers again",
            self.name,
            self.last_error,
            extra={"redis_user": self.name, "redis_state": "down"},
        )

    def succeeded(self) -> bool:
        """Record a success; True if this ended an outage."""
        if self.down_since is None:
            return False
        with self._lock:
            if self.down_since is None:
                return False
            seconds, self.down_since = time.time() - self.down_since, None
        log.info(
            "Redis answers again for %s after %.1f s",
            self.name,
            seconds,
            extra={"redis_user": self.name, "redis_state": "up"},
        )
        return True


def degraded() -> dict[str, str]:
    """The Redis users of this process that are running without it now, with why."""
    now = time.time()
    return {
        name: f"down for {now - b.down_since:.0f} s ({b.last_error})"
        for name, b in _breakers.items()
        if b.down_since is not None
    }


def is_redis_error(exc: BaseException) -> bool:
    return isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError))
