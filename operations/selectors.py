"""What the operators' dashboard shows, read from the database in a fixed number of bounded statements.

Each selector is one statement (pinned in tests/operations/test_selectors.py) over an indexed time range
or a bounded set: the last hour of holds (indexes hold_created_at, hold_ended_at), of payment attempts
(attempt_started_at) and of expiries (audit_action_created). The seats of the flights shown are
inventory's (inventory.selectors.flight_seats, read through the seats' flight index and the partial unique
index of live holds). Per-minute series are grouped in the database, so a view receives at most 60 rows
per series whatever the traffic.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, FloatField, Max, Q, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncMinute

from core.models import Heartbeat
from inventory.models import SeatHold
from operations.models import WebProcessReport
from orders.lateness import EXPIRY_BUCKETS_SECONDS
from orders.models import AttemptOutcome, AuditAction, AuditEntry, BookingChange, PaymentAttempt, Refund

WINDOW_MINUTES = 60
HOLD_SERIES = ("made", "released", "expired", "confirmed")
ATTEMPT_OUTCOMES = tuple(o.value for o in AttemptOutcome if o != AttemptOutcome.INTERRUPTED)


def window_start(now: dt.datetime) -> dt.datetime:
    """The first of the last WINDOW_MINUTES whole minutes (the current minute included)."""
    return now.replace(second=0, microsecond=0) - dt.timedelta(minutes=WINDOW_MINUTES - 1)


Series = dict[str, dict[dt.datetime, int]]


def holds_per_minute(*, now: dt.datetime) -> Series:
    """Holds made, and ended by how (released, expired, confirmed), per minute over the last hour: one
    statement, a union of two index range scans."""
    since = window_start(now)
    made = (
        SeatHold.objects.filter(created_at__gte=since)
        .annotate(m=TruncMinute("created_at"), how=Value("MADE"))
        .values_list("m", "how")
        .annotate(n=Count("pk"))
        .order_by()
    )
    ended = (
        SeatHold.objects.filter(ended_at__gte=since)
        .annotate(m=TruncMinute("ended_at"), how=F("state"))
        .values_list("m", "how")
        .annotate(n=Count("pk"))
        .order_by()
    )
    series: Series = {name: {} for name in HOLD_SERIES}
    for m, how, n in made.union(ended, all=True):
        if how.lower() in series:
            series[how.lower()][m] = n
    return series


def attempts_per_minute(*, now: dt.datetime) -> Series:
    """Payment attempts started in each of the last 60 minutes, by outcome (as of now): one statement."""
    rows = (
        PaymentAttempt.objects.filter(started_at__gte=window_start(now))
        .annotate(m=TruncMinute("started_at"))
        .values_list("m", "outcome")
        .annotate(n=Count("pk"))
        .order_by()
    )
    series: Series = {outcome: {} for outcome in ATTEMPT_OUTCOMES}
    for m, outcome, n in rows:
        series.setdefault(outcome, {})[m] = n
    return series


@dataclass(frozen=True)
class Lateness:
    """Expiry lateness (deadline to EXPIRED) of one minute, or of the hour; seconds."""

    count: int
    p50: float | None
    p99: float | None
    max: float | None
    buckets: tuple[int, ...] = field(default=(), repr=False)  # cumulative counts, per EXPIRY_BUCKETS_SECONDS


def quantile(q: float, buckets: tuple[int, ...], count: int, largest: float) -> float | None:
    """The q-quantile estimated from cumulative bucket counts, as Prometheus' histogram_quantile does
    (linear inside the bucket), but never above the exact maximum `largest`."""
    if not count:
        return None
    rank, lower, below = q * count, 0.0, 0
    for upper, cumulative in zip(EXPIRY_BUCKETS_SECONDS, buckets, strict=True):
        if cumulative >= rank:
            inside = cumulative - below
            estimate = upper if not inside else lower + (upper - lower) * (rank - below) / inside
            return min(estimate, largest)
        lower, below = upper, cumulative
    return largest  # past the last finite bucket


def _lateness(count: int, max_ms: float | None, buckets: tuple[int, ...]) -> Lateness:
    largest = (max_ms or 0) / 1000
    return Lateness(
        count, quantile(0.5, buckets, count, largest), quantile(0.99, buckets, count, largest),
        largest if count else None, buckets,
    )  # fmt: skip


def expiry_lateness(*, now: dt.datetime) -> tuple[Lateness, dict[dt.datetime, Lateness]]:
    """The timer loop's expiries of the last hour, late by how much (from their audit entries): the
    hour's and each minute's p50, p99 and max. One statement over audit_action_created's range."""
    late = Cast(KT("details__late_ms"), FloatField())
    rows = (
        AuditEntry.objects.filter(action=AuditAction.EXPIRE, created_at__gte=window_start(now), actor="system:timers")
        .annotate(m=TruncMinute("created_at"))
        .values("m")
        .annotate(
            total=Count("pk"),
            max_ms=Max(late),
            **{
                f"le_{i}": Count("pk", filter=Q(details__late_ms__lte=b * 1000))
                for i, b in enumerate(EXPIRY_BUCKETS_SECONDS)
            },
        )
        .order_by()
    )
    per_minute, hour_buckets, hour_count, hour_max = {}, [0] * len(EXPIRY_BUCKETS_SECONDS), 0, 0.0
    for row in rows:
        counts: dict = dict(row)  # the bucket keys, made above, are not in its type
        buckets = tuple(counts[f"le_{i}"] for i in range(len(EXPIRY_BUCKETS_SECONDS)))
        per_minute[row["m"]] = _lateness(row["total"], row["max_ms"], buckets)
        hour_buckets = [a + b for a, b in zip(hour_buckets, buckets, strict=True)]
        hour_count, hour_max = hour_count + row["total"], max(hour_max, row["max_ms"] or 0)
    return _lateness(hour_count, hour_max, tuple(hour_buckets)), per_minute


def fresh_process_reports(*, now: dt.datetime) -> list[WebProcessReport]:
    """The reports of the web processes serving event streams that reported within the last three beats
    (reporting.py): one statement over the index on beat_at."""
    fresh = now - dt.timedelta(seconds=3 * settings.HEARTBEAT_SECONDS)
    return list(WebProcessReport.objects.filter(beat_at__gte=fresh).order_by("name"))


@dataclass(frozen=True)
class Beat:
    name: str
    age_seconds: float | None
    limit_seconds: float

    @property
    def ok(self) -> bool:
        return self.age_seconds is not None and self.age_seconds <= self.limit_seconds


def heartbeats(*, now: dt.datetime) -> list[Beat]:
    """The timer loop's and the workers' last reports, judged as GET /health judges them: one statement."""
    beats = dict(Heartbeat.objects.values_list("name", "beat_at"))
    limits = {"timers": settings.HEALTH_TIMERS_MAX_AGE_SECONDS, "worker": settings.HEALTH_WORKER_MAX_AGE_SECONDS}
    return [
        Beat(name, (now - beats[name]).total_seconds() if name in beats else None, limit)
        for name, limit in limits.items()
    ]


@dataclass(frozen=True)
class AfterBooking:
    """What happened to paid bookings over the last hour and day: {state or kind: (hour, day)}; the
    refunds' amounts paid, {currency: (hour, day)}."""

    changes: dict[str, tuple[int, int]]
    cancellations: tuple[int, int]
    refunds: dict[str, tuple[int, int]]
    refunded: dict[str, tuple[Decimal, Decimal]]


def after_booking(*, now: dt.datetime) -> AfterBooking:
    """Seat changes asked for (by their state now), cancellations (the audit trail's cancel_booking entries,
    whole or in part) and refunds asked for (by state now, the amounts paid), over the last hour and day:
    three statements, ranges of change_created_at, audit_action_created and refund_state_created."""
    day, hour = now - dt.timedelta(days=1), now - dt.timedelta(hours=1)
    counts = {"hour": Count("pk", filter=Q(created_at__gte=hour)), "day": Count("pk")}
    changes = BookingChange.objects.filter(created_at__gte=day).values_list("state").annotate(**counts).order_by()
    cancels = AuditEntry.objects.filter(action=AuditAction.CANCEL_BOOKING, created_at__gte=day).aggregate(**counts)
    paid = Q(state="PAID")
    refunds = (
        Refund.objects.filter(state__in=("PENDING", "PAID", "FAILED"), created_at__gte=day)
        .values_list("state", "currency")
        .annotate(
            **counts,
            paid_hour=Sum("amount", filter=paid & Q(created_at__gte=hour), default=Decimal(0)),
            paid_day=Sum("amount", filter=paid, default=Decimal(0)),
        )
        .order_by()
    )
    by_state: dict[str, tuple[int, int]] = dict.fromkeys(("PENDING", "PAID", "FAILED"), (0, 0))
    refunded: dict[str, tuple[Decimal, Decimal]] = {}
    for state, currency, h, d, paid_h, paid_d in refunds:
        by_state[state] = (by_state[state][0] + h, by_state[state][1] + d)
        if state == "PAID":
            refunded[currency] = (paid_h, paid_d)
    return AfterBooking(
        changes=dict.fromkeys(("CHARGING", "DONE", "UNDONE"), (0, 0)) | {s: (h, d) for s, h, d in changes},
        cancellations=(cancels["hour"], cancels["day"]),
        refunds=by_state,
        refunded=refunded,
    )
