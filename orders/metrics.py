"""The business figures of GET /metrics: orders, seat holds, payment attempts, expiry lateness.

They come from the database, so every process's work counts (web, workers, timer loop) without a
shared metrics store. The timer loop aggregates them every METRICS_REFRESH_SECONDS into a one-row
snapshot (`refresh_snapshot`), and a scrape reads only that row (`DatabaseCollector`, registered with
core.metrics' registry when the app is ready).

A refresh reads an amount of data bounded by live work, not by history. Rows that no longer change
(orders that ended, holds that ended, attempts that finished, audit entries) are counted once, when they
are older than SETTLED_AFTER, and their totals kept in the snapshot (`settled`, with the time they run
to); each refresh adds the rows that settled since the last one, counts the last SETTLED_AFTER afresh,
and reads the live rows (orders not ended, holds held, attempts running) through indexes of their own.
So the totals are counters in Prometheus' sense: pruning old rows does not lower them.
"""

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, FloatField, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from inventory.models import HoldState, SeatHold
from inventory.selectors import flight_seats
from orders.lateness import EXPIRY_BUCKETS_SECONDS
from orders.models import (
    AttemptOutcome,
    AuditAction,
    AuditEntry,
    BookingChange,
    ChangeState,
    MetricsSnapshot,
    Order,
    OrderState,
    PaymentAttempt,
    Refund,
    RefundState,
)

# Longer than any transaction runs (statement and lock timeouts bound them), so that a row stamped
# before now - SETTLED_AFTER has committed, and an ended row no longer changes.
SETTLED_AFTER = dt.timedelta(minutes=5)
CATCH_UP_STEP = dt.timedelta(hours=1)
CATCH_UP_SECONDS = 5.0
# The state each ending action leaves an order in: every order ends once, with one of these audit entries.
ENDING_ACTIONS = {
    AuditAction.EXPIRE: OrderState.EXPIRED,
    AuditAction.CANCEL: OrderState.CANCELLED,
    AuditAction.CONFIRM: OrderState.CONFIRMED,
    AuditAction.FAIL: OrderState.FAILED,
}
LIVE_ORDER_STATES = (OrderState.PENDING, OrderState.SEATS_SELECTED, OrderState.PROCESSING_PAYMENT)
COUNTED_ACTIONS = (*ENDING_ACTIONS, AuditAction.CONFIRMATION_SENT, AuditAction.CONFIRMATION_FAILED)
GIVEN_UP = "failed, given up"  # orders/services/confirmation.py's Sent.GIVEN_UP, as its audit entry records it


def stamped(field: str, since: dt.datetime | None, until: dt.datetime | None) -> Q:
    """Rows whose `field` falls in [since, until); an open end where None."""
    q = Q(**{f"{field}__isnull": False})
    if since is not None:
        q &= Q(**{f"{field}__gte": since})
    if until is not None:
        q &= Q(**{f"{field}__lt": until})
    return q


def ended_between(since: dt.datetime | None, until: dt.datetime | None) -> dict[str, Any]:
    """The figures of the rows that ended (or were written, for audit entries) in [since, until): four
    statements, each a range of an index on the time it ended."""
    late_ms = Cast(KT("details__late_ms"), FloatField())
    timers_expiry = Q(action=AuditAction.EXPIRE, actor="system:timers")
    audit = AuditEntry.objects.filter(
        stamped("created_at", since, until),
        action__in=COUNTED_ACTIONS,
    ).aggregate(
        **{f"ended_{state}": Count("pk", filter=Q(action=action)) for action, state in ENDING_ACTIONS.items()},
        sent=Count("pk", filter=Q(action=AuditAction.CONFIRMATION_SENT)),
        failed_sends=Count("pk", filter=Q(action=AuditAction.CONFIRMATION_FAILED)),
        given_up=Count("pk", filter=Q(action=AuditAction.CONFIRMATION_FAILED, details__outcome=GIVEN_UP)),
        expiries=Count("pk", filter=timers_expiry),
        sum_ms=Sum(late_ms, filter=timers_expiry),
        **{
            f"le_{i}": Count("pk", filter=timers_expiry & Q(details__late_ms__lte=b * 1000))
            for i, b in enumerate(EXPIRY_BUCKETS_SECONDS)
        },
    )
    holds = SeatHold.objects.filter(stamped("ended_at", since, until)).values_list("state").annotate(n=Count("pk"))
    attempts = PaymentAttempt.objects.filter(stamped("finished_at", since, until)).exclude(
        outcome=AttemptOutcome.RUNNING
    )
    return {
        "orders": {state: audit[f"ended_{state}"] for state in ENDING_ACTIONS.values()},
        "holds": dict(holds.order_by()),
        "attempts": dict(attempts.values_list("outcome").annotate(n=Count("pk")).order_by()),
        "emails": {key: audit[key] for key in ("sent", "given_up", "failed_sends")},
        "expiry": {
            "total": audit["expiries"],
            "sum_ms": audit["sum_ms"] or 0,
            "le": [audit[f"le_{i}"] for i in range(len(EXPIRY_BUCKETS_SECONDS))],
        },
    }


def live_figures() -> dict[str, Any]:
    """The rows still changing, each through a partial index of the live ones: orders not ended, holds
    held, attempts running; and the seats of the flights departing soonest."""
    orders = Order.objects.filter(state__in=LIVE_ORDER_STATES).values_list("state").annotate(n=Count("pk"))
    return {
        "orders": dict(orders.order_by()),
        "holds": {HoldState.HELD.value: SeatHold.objects.filter(state=HoldState.HELD).count()},
        "attempts": {
            AttemptOutcome.RUNNING.value: PaymentAttempt.objects.filter(outcome=AttemptOutcome.RUNNING).count()
        },
        "flights": {f.code: [f.available, f.held, f.booked] for f in flight_seats(now=timezone.now())},
        **after_booking_figures(),
    }


def after_booking_figures() -> dict[str, Any]:
    """Money still moving after booking: refunds pending (and since when the oldest has been tried),
    refunds the workers gave up on, seat changes being charged (and since when the oldest). Two statements
    over the refunds' (state, created_at) index and the charging changes' rows; the ages are worked out at
    each scrape, so they grow even while the snapshot is not refreshed."""
    refunds = Refund.objects.filter(state__in=(RefundState.PENDING, RefundState.FAILED)).aggregate(
        pending=Count("pk", filter=Q(state=RefundState.PENDING)),
        failed=Count("pk", filter=Q(state=RefundState.FAILED)),
        oldest=Min(Coalesce(Subquery(latest_retry()), "created_at"), filter=Q(state=RefundState.PENDING)),
    )
    changes = BookingChange.objects.filter(state=ChangeState.CHARGING).aggregate(
        charging=Count("pk"), oldest=Min("created_at")
    )
    return {
        "refunds": {"pending": refunds["pending"], "failed": refunds["failed"]},
        "refund_oldest_pending": refunds["oldest"].isoformat() if refunds["oldest"] else None,
        "changes": {"charging": changes["charging"]},
        "change_oldest_charging": changes["oldest"].isoformat() if changes["oldest"] else None,
    }


def latest_retry() -> Any:
    """When an operator last retried the outer refund (orders/services/money.py's retry_refund audits it
    with this reason): its current series of tries began then, not when it was asked for. Read through the
    audit entries' order index, for the few refunds pending."""
    tried_again = Concat(Value("refund "), OuterRef("credit_note"), Value(" tried again"), output_field=CharField())
    return (
        AuditEntry.objects.filter(order_id=OuterRef("order_id"), action=AuditAction.REFUND)
        .filter(reason__startswith=tried_again)
        .order_by("-created_at")
        .values("created_at")[:1]
    )


def added(a: Any, b: Any) -> Any:
    """Two figures of the same shape added: numbers summed, lists element by element, dicts key by key (a
    key missing on one side counts as nothing there)."""
    if isinstance(a, dict):
        return {key: added(a[key], b[key]) if key in a and key in b else a.get(key, b.get(key)) for key in a | b}
    if isinstance(a, list):
        return [x + y for x, y in zip(a, b, strict=True)]
    return a + b


def history_start(default: dt.datetime) -> dt.datetime:
    """The earliest time a settled row is stamped with (`default` if there is none): the first entry of each
    index the figures read, one short read each."""
    firsts = [
        *(AuditEntry.objects.filter(action=action).aggregate(t=Min("created_at"))["t"] for action in COUNTED_ACTIONS),
        SeatHold.objects.aggregate(t=Min("ended_at"))["t"],
        PaymentAttempt.objects.aggregate(t=Min("finished_at"))["t"],
    ]
    return min([t for t in firsts if t is not None], default=default)


def database_figures(settled: dict[str, Any] | None = None, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The business figures: `settled` (the totals of a previous snapshot, or None to count from the
    start) brought forward to now - SETTLED_AFTER, the rows since counted afresh, the live rows added.

    The settled totals come back under "settled", for the next refresh. They move forward CATCH_UP_STEP
    at a time (each step's statements stay short, within the statement timeout) for at most
    CATCH_UP_SECONDS per refresh: a first refresh on a database with a long past takes several turns,
    and until it has caught up ("complete": false) the figures of ended rows are short of the truth."""
    now = now or timezone.now()
    target = now - SETTLED_AFTER
    settled = settled or {"until": history_start(default=target).isoformat()}
    until = dt.datetime.fromisoformat(settled["until"])
    totals = {key: value for key, value in settled.items() if key != "until"}
    stop_at = time.monotonic() + CATCH_UP_SECONDS
    while until < target:
        step_end = min(target, until + CATCH_UP_STEP)
        totals, until = added(totals, ended_between(until, step_end)), step_end
        if time.monotonic() >= stop_at:
            break
    complete = until >= target
    figures = added(totals, live_figures())
    if complete:
        figures = added(figures, ended_between(until, None))
    return {**figures, "settled": {**totals, "until": until.isoformat()}, "complete": complete}


def refresh_snapshot() -> None:
    """Bring the one-row snapshot that /metrics reads up to date. The row is locked while it is computed;
    a loop that finds it locked leaves the refresh to the loop that holds it."""
    with transaction.atomic():
        row = MetricsSnapshot.objects.select_for_update(skip_locked=True).filter(pk=1).first()
        if row is None and MetricsSnapshot.objects.filter(pk=1).exists():
            return  # another timer loop is refreshing it now
        now = timezone.now()
        figures = database_figures(row.figures.get("settled") if row else None, now=now)
        if row is not None:
            row.taken_at, row.figures = now, figures
            row.save(update_fields=["taken_at", "figures"])
            return
    try:
        with transaction.atomic():
            MetricsSnapshot.objects.create(pk=1, taken_at=now, figures=figures)
    except IntegrityError:
        pass  # another loop made the first snapshot meanwhile; the next refresh starts from it


class DatabaseCollector:
    """The business figures as of the last snapshot (one primary-key read, whatever the table sizes)."""

    def collect(self) -> Iterator[Metric]:
        snapshot = MetricsSnapshot.objects.filter(pk=1).values_list("taken_at", "figures").first()
        if snapshot is None:  # no timer loop has run yet: no figures rather than made-up zeros
            return
        taken_at, figures = snapshot
        yield GaugeMetricFamily(
            "seatbooking_metrics_snapshot_age_seconds",
            "Age of the database figures below (refreshed by the timer loop every METRICS_REFRESH_SECONDS).",
            value=(timezone.now() - taken_at).total_seconds(),
        )
        yield labelled(GaugeMetricFamily("seatbooking_orders", "Orders by state.", labels=["state"]), figures["orders"])
        yield from hold_metrics(figures["holds"])
        yield flight_seats_metric(figures.get("flights", {}))
        yield labelled(
            CounterMetricFamily("seatbooking_payment_attempts", "Payment attempts by outcome.", labels=["outcome"]),
            figures["attempts"],
        )
        yield labelled(
            CounterMetricFamily(
                "seatbooking_confirmation_emails",
                "Confirmation emails: sent, given up (refused for good or too many tries), failed_sends (each "
                "failed try).",
                labels=["outcome"],
            ),
            figures.get("emails", {}),
        )
        yield expiry_lateness_metric(figures["expiry"])
        yield from after_booking_metrics(figures)


def labelled(family: GaugeMetricFamily | CounterMetricFamily, counts: dict[str, int]) -> Metric:
    """`family` with one sample per entry of `counts`, labelled by its key."""
    for label, n in counts.items():
        family.add_metric([label], n)
    return family


def hold_metrics(by_state: dict[str, int]) -> Iterator[Metric]:
    """Seat holds by state: every hold ever made, the ended ones by how they ended, the live ones."""
    yield CounterMetricFamily("seatbooking_seat_holds_created", "Seat holds ever made.", value=sum(by_state.values()))
    ended = CounterMetricFamily(
        "seatbooking_seat_holds_ended",
        "Seat holds that ended, by how: released, expired, or confirmed (booked).",
        labels=["how"],
    )
    yield labelled(ended, {state.lower(): by_state.get(state, 0) for state in ("RELEASED", "EXPIRED", "CONFIRMED")})
    yield GaugeMetricFamily(
        "seatbooking_seat_holds_live", "Seats held now (not yet paid for).", value=by_state.get("HELD", 0)
    )


def flight_seats_metric(flights: dict[str, list[int]]) -> Metric:
    family = GaugeMetricFamily(
        "seatbooking_flight_seats",
        "Seats available, held and booked on the flights departing soonest (as the admin's dashboard shows).",
        labels=["flight", "state"],
    )
    for code, counts in flights.items():
        for state, n in zip(("available", "held", "booked"), counts, strict=True):
            family.add_metric([code, state], n)
    return family


def expiry_lateness_metric(late: dict[str, Any]) -> Metric:
    buckets = [(str(b), n) for b, n in zip(EXPIRY_BUCKETS_SECONDS, late["le"], strict=True)]
    return HistogramMetricFamily(
        "seatbooking_expiry_lateness_seconds",
        "From a hold's deadline to the timer loop expiring it.",
        buckets=[*buckets, ("+Inf", late["total"])],
        sum_value=late["sum_ms"] / 1000,
    )


def after_booking_metrics(figures: dict[str, Any]) -> Iterator[Metric]:
    """Refunds pending and failed, the oldest pending's age (0: none), seat changes being charged (a
    snapshot from before these figures existed has none of them: nothing is exported rather than zeros)."""
    if "refunds" not in figures:
        return
    yield labelled(
        GaugeMetricFamily(
            "seatbooking_refunds",
            "Refunds not paid: pending (a worker tries), failed (every try failed: an operator retries them).",
            labels=["state"],
        ),
        figures["refunds"],
    )
    yield GaugeMetricFamily(
        "seatbooking_refund_oldest_pending_age_seconds",
        "How long the oldest pending refund has been tried: since it was asked for, or since an operator last "
        "retried it (0: none pending).",
        value=age_of(figures.get("refund_oldest_pending")),
    )
    yield GaugeMetricFamily(
        "seatbooking_seat_changes_charging",
        "Seat changes whose price difference is being charged.",
        value=figures.get("changes", {}).get("charging", 0),
    )
    yield GaugeMetricFamily(
        "seatbooking_seat_change_oldest_charging_age_seconds",
        "How long the oldest seat change still charging has been (0: none): its new seats are held meanwhile.",
        value=age_of(figures.get("change_oldest_charging")),
    )


def age_of(stamp: str | None) -> float:
    """Seconds since an ISO time of the snapshot, worked out now (0 for none, or for a clock behind it)."""
    if not stamp:
        return 0.0
    return max((timezone.now() - dt.datetime.fromisoformat(stamp)).total_seconds(), 0.0)
