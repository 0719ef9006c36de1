"""Retention of transient rows: what the service writes to work, not to remember, is deleted after its window.

Each prune deletes in small batches (RETENTION_BATCH_SIZE rows a statement, each batch its own
transaction), at most RETENTION_BATCHES_PER_PASS batches per kind and pass, so a pass never holds locks
for long or stalls the writers; a backlog (after a first deploy, or a long outage of the timer loops) is
worked off pass by pass. What to prune, and how long each kind is kept, is the policy of
docs/operations.md#retention; the timer loop runs the pass (orders/retention.py).

Kinds whose old rows are all prunable are found by their time column's index: after the first pass
there is nothing old left to read. Kinds where old rows are kept beside prunable ones (booked seat
holds beside released ones) are walked in time slices (`walk`), remembering how far they got
(`RetentionCursor`), so that each pass reads what ended since the last, not the whole history.
"""

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django_q.models import Task

from core.events.eventstream import EventCounter, EventRow
from core.models import IdempotencyRecord, RetentionCursor

# A walk's step: rows in one slice of the time column are read together (at most this much time's rows).
SLICE = dt.timedelta(minutes=10)
# A walk looks at most this many slices per pass (empty ones cost one index probe each).
SLICES_PER_PASS = 200


def delete_in_batches(rows: models.QuerySet, *, budget: int | None = None) -> int:
    """Delete `rows`, RETENTION_BATCH_SIZE per statement, at most `budget` rows (RETENTION_BATCHES_PER_PASS
    batches by default); returns how many were deleted. The rows' model must have no dependent rows."""
    size = settings.RETENTION_BATCH_SIZE
    budget = size * settings.RETENTION_BATCHES_PER_PASS if budget is None else budget
    deleted = 0
    while deleted < budget:
        batch = min(size, budget - deleted)
        ids = list(rows.order_by().values_list("pk", flat=True)[:batch])
        if ids:
            deleted += rows.model._base_manager.filter(pk__in=ids).delete()[0]
        if len(ids) < batch:
            break
    return deleted


def walk(name: str, *, cutoff: dt.datetime, oldest: Callable[[], dt.datetime | None], prune: Callable) -> int:
    """Prune the rows of a time column up to `cutoff`, slice by slice from where the last pass stopped:
    `prune(start, end, budget)` deletes at most `budget` prunable rows whose time is in [start, end) and
    returns how many. `oldest()` says where to start the first time. Returns the rows deleted."""
    budget = settings.RETENTION_BATCH_SIZE * settings.RETENTION_BATCHES_PER_PASS
    position = RetentionCursor.objects.filter(pk=name).values_list("position", flat=True).first() or oldest()
    if position is None:
        return 0
    deleted = 0
    for _ in range(SLICES_PER_PASS):
        if position >= cutoff or deleted >= budget:
            break
        end = min(position + SLICE, cutoff)
        room = budget - deleted
        deleted += (done := prune(position, end, room))
        if done == room:  # the budget ran out inside this slice: the next pass goes on with it
            break
        position = end
    RetentionCursor.objects.update_or_create(pk=name, defaults={"position": position})
    return deleted


def prune_events(*, now: dt.datetime) -> int:
    """Events older than EVENTS_KEEP_HOURS: a stream that far behind starts over from a snapshot. Each
    channel's placeholder (id 0, where a stream that has seen nothing starts) stays with its counter."""
    cutoff = now - dt.timedelta(hours=settings.EVENTS_KEEP_HOURS)
    return delete_in_batches(EventRow.objects.filter(created__lt=cutoff, eid__gt=0))


def prune_channels(names: list[str], *, quiet_before: dt.datetime) -> int:
    """Forget the channels among `names` that have had no event since `quiet_before`: their counter and
    whatever rows they still have (the placeholder). Returns how many channels were forgotten.

    A forgotten channel that speaks again starts its ids over from 1, so callers pass only channels that
    are not expected to (the channels of orders that ended). Counters being bumped right now are skipped,
    and `updated` is checked again under the lock: a channel that spoke meanwhile is kept."""
    with transaction.atomic():
        quiet = list(
            EventCounter.objects.select_for_update(skip_locked=True)
            .filter(name__in=names, updated__lt=quiet_before)
            .values_list("name", flat=True)
        )
        if quiet:
            EventRow.objects.filter(channel__in=quiet).delete()
            EventCounter.objects.filter(name__in=quiet).delete()
    return len(quiet)


def prune_idempotency_keys(*, now: dt.datetime) -> int:
    """Idempotency records older than IDEMPOTENCY_KEEP_HOURS: a retry that late runs anew."""
    cutoff = now - dt.timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
    return delete_in_batches(IdempotencyRecord.objects.filter(created_at__lt=cutoff))


def prune_sessions(*, now: dt.datetime) -> int:
    """Expired browser sessions (what Django's `clearsessions` deletes): their cookie no longer opens them."""
    return delete_in_batches(Session.objects.filter(expire_date__lt=now))


def prune_tasks(*, now: dt.datetime) -> int:
    """django-q2's task rows (failed tasks; successful ones are not kept) older than RETENTION_TASKS_HOURS:
    a payment's record is its attempts and audit trail, not the task that made them."""
    cutoff = now - dt.timedelta(hours=settings.RETENTION_TASKS_HOURS)
    return delete_in_batches(Task.objects.filter(stopped__lt=cutoff))
