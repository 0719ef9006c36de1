"""The business figures of GET /metrics: orders, seat holds, payment attempts, expiry lateness.

They come from the database, so every process's work counts (web, workers, timer loop) without a
shared metrics store. The timer loop aggregates them every METRICS_REFRESH_SECONDS into a one-row
snapshot (`refresh_snapshot`), and a scrape reads only that row (`DatabaseCollector`, registered with
core.metrics' registry when the app is ready).
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from inventory.models import SeatHold
from inventory.selectors import flight_seats
from orders.lateness import EXPIRY_BUCKETS_SECONDS
from orders.models import AuditAction, AuditEntry, MetricsSnapshot, Order, PaymentAttempt


def database_figures() -> dict[str, Any]:
    """The business figures, aggregated over whole tables: run by the timer loop, never by a scrape."""
    # Lateness of the timer loop's expiries: deadline to EXPIRED, as recorded in each audit entry.
    late = AuditEntry.objects.filter(action=AuditAction.EXPIRE, actor="system:timers").aggregate(
        total=Count("pk"),
        sum_ms=Sum(Cast(KT("details__late_ms"), FloatField())),
        **{
            f"le_{i}": Count("pk", filter=Q(details__late_ms__lte=b * 1000))
            for i, b in enumerate(EXPIRY_BUCKETS_SECONDS)
        },
    )
    return {
        "orders": dict(Order.objects.values_list("state").annotate(n=Count("pk")).order_by()),
        "holds": dict(SeatHold.objects.values_list("state").annotate(n=Count("pk")).order_by()),
        "attempts": dict(PaymentAttempt.objects.values_list("outcome").annotate(n=Count("pk")).order_by()),
        "flights": {f.code: [f.available, f.held, f.booked] for f in flight_seats(now=timezone.now())},
        # Confirmation emails (orders/services/confirmation.py): sent, given up, and failed sends (retried or not).
        "emails": {
            "sent": Order.objects.filter(confirmation_sent_at__isnull=False).count(),
            "given_up": Order.objects.filter(confirmation_failed_at__isnull=False).count(),
            "failed_sends": AuditEntry.objects.filter(action=AuditAction.CONFIRMATION_FAILED).count(),
        },
        "expiry": {
            "total": late["total"],
            "sum_ms": late["sum_ms"] or 0,
            "le": [late[f"le_{i}"] for i in range(len(EXPIRY_BUCKETS_SECONDS))],
        },
    }


def refresh_snapshot() -> None:
    """Aggregate the tables and store the figures in the one-row snapshot that /metrics reads."""
    figures, now = database_figures(), timezone.now()
    if not MetricsSnapshot.objects.filter(pk=1).update(taken_at=now, figures=figures):
        MetricsSnapshot.objects.get_or_create(pk=1, defaults={"taken_at": now, "figures": figures})


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
