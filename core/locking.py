"""Row locks for changes, taken the one way docs/locking.md describes (after pretix's locking module).

- Lock before you look: a change locks the rows it will decide on before it reads them to decide.
- One order: the order row first (`lock_one`); then, on the ORM's path (SQLite), all the seat rows in one
  statement sorted by id (`lock_all`); each once per transaction, at its start. On PostgreSQL's one
  statement no seat row is locked: the partial unique index decides who holds a seat, and holds are
  written in seat id order (inventory/holds_sql.py). No two changes can wait on each other in a cycle.
- Batches skip, they do not wait (`claim`): rows another transaction holds are left for the next tick.
- Never wait without end: every PostgreSQL connection has `lock_timeout` (DB_LOCK_TIMEOUT_SECONDS, set
  when it opens). A lock not granted by then is `Busy`: 503 with Retry-After, nothing written (the
  transaction rolls back), the same request may be sent again.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import OperationalError
from django.db.models import Model, QuerySet

from core.errors import ServiceError

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE when lock_timeout runs out
DEADLOCK_DETECTED = "40P01"  # rare (docs/locking.md, "Seats on PostgreSQL"); as retryable as a timeout

M = TypeVar("M", bound=Model)


class Busy(ServiceError):
    status = 503
    code = "busy"
    retry_after = 1


def is_lock_timeout(exc: BaseException) -> bool:
    """A lock not granted in time, or a deadlock PostgreSQL broke by cancelling this statement."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return isinstance(exc, OperationalError) and sqlstate in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED)


@contextmanager
def busy_on_lock_timeout() -> Iterator[None]:
    try:
        yield
    except OperationalError as exc:
        if not is_lock_timeout(exc):
            raise
        raise Busy(
            "This order or seat is being changed by another request right now; nothing was changed. "
            f"Try again in {Busy.retry_after} s."
        ) from None


def lock_one(queryset: QuerySet[M], **lookup: Any) -> M:
    """Lock one row (its own table only, not rows joined for reading) and return it; Model.DoesNotExist
    if there is none."""
    with busy_on_lock_timeout():
        return queryset.select_for_update(of=("self",)).get(**lookup)


def lock_all(queryset: QuerySet[M]) -> list[M]:
    """Lock every row of `queryset` in one statement, in id order, and return them in that order."""
    with busy_on_lock_timeout():
        return list(queryset.select_for_update().order_by("pk"))


def lock_values(queryset: QuerySet[M], *fields: str) -> list[tuple[Any, ...]]:
    """Lock the rows of `queryset` (its own table only), in id order, then read `pk` and `fields` of each:
    a row another transaction is changing is waited for and read as it is after that change, or left out
    if it no longer matches."""
    with busy_on_lock_timeout():
        return list(queryset.select_for_update(of=("self",)).order_by("pk").values_list("pk", *fields))


def claim(queryset: QuerySet[M]) -> QuerySet[M]:
    """Batches skip, they do not wait: the rows of `queryset` no other transaction holds, locked (its own
    table only). Any number of timer loops can run the same batch; each takes different rows."""
    return queryset.select_for_update(skip_locked=True, of=("self",))
