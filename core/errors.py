"""Domain errors raised by services and selectors; the API turns each into a JSON error response."""

from typing import Any


class ServiceError(Exception):
    status = 400
    code = "invalid"
    retry_after: int | None = None  # seconds, for the Retry-After header of a "try again" answer

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.extra = extra


class InvalidInput(ServiceError):
    status = 400
    code = "invalid"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


DATABASE_RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(ServiceError):
    """The database did not answer (down, restarting, frozen) or the pool had no connection in time."""

    status = 503
    code = "database_unavailable"
    retry_after = DATABASE_RETRY_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__(
            "The database is not answering right now, so nothing could be done. Try again "
            f"in {DATABASE_RETRY_AFTER_SECONDS} s (a POST with the same Idempotency-Key is safe to repeat)."
        )
