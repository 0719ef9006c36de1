"""GET /metrics in Prometheus' text format (prometheus_client).

Business figures come from the database, so every process's work counts (web, workers, timer loop)
without a shared metrics store; the timer loop aggregates them every METRICS_REFRESH_SECONDS into a
one-row snapshot, and a scrape reads only that row. Request latencies and open event streams are this
web process's own. Closed unless METRICS_TOKEN or METRICS_ALLOWED_ADDRESSES is set.
"""

import time

from django.db.models import Count, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram(
    "seatbooking_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
OPEN_STREAMS = Gauge(
    "seatbooking_open_event_streams", "Event streams open in this web process.", ["kind"], registry=REGISTRY
)
EVENT_DELIVERY = Gauge(
    "seatbooking_event_delivery",
    "How this web process learns of new events: 1 for the mode in "
    "use (redis: pub/sub; table: polling the event table, the fallback while Redis is down).",
    ["mode"],
    registry=REGISTRY,
)
EVENT_DELIVERY_OUTAGES = Counter(
    "seatbooking_event_delivery_outages",
    "Times this web process lost its Redis subscription and fell back to polling the event table.",
    registry=REGISTRY,
)
EXPIRY_BUCKETS_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


def database_figures() -> dict:
    """The business figures, aggregated over whole tables: run by the timer loop, never by a scrape."""
    from orders.models import AuditEntry, Order, PaymentAttempt, SeatHold

    # Lateness of the timer loop's expiries: deadline to EXPIRED, as recorded in each audit entry.
    late = AuditEntry.objects.filter(action="expire", actor="system:timers").aggregate(
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
        "expiry": {
            "total": late["total"],
            "sum_ms": late["sum_ms"] or 0,
            "le": [late[f"le_{i}"] for i in range(len(EXPIRY_BUCKETS_SECONDS))],
        },
    }


def refresh_snapshot() -> None:
    """Aggregate the tables and store the figures in the one-row snapshot that /metrics reads."""
    from django.utils import timezone

    from orders.models import MetricsSnapshot

    figures, now = database_figures(), timezone.now()
    if not MetricsSnapshot.objects.filter(pk=1).update(taken_at=now, figures=figures):
        MetricsSnapshot.objects.get_or_create(pk=1, defaults={"taken_at": now, "figures": figures})


class DatabaseCollector:
    """The business figures as of the last snapshot (one primary-key read, whatever the table sizes)."""

    def collect(self):
        from django.utils import timezone

        from orders.models import MetricsSnapshot

        snapshot = MetricsSnapshot.objects.filter(pk=1).values_list("taken_at", "figures").first()
        if snapshot is None:  # no timer loop has run yet: no figures rather than made-up zeros
            return
        taken_at, figures = snapshot
        yield GaugeMetricFamily(
            "seatbooking_metrics_snapshot_age_seconds",
            "Age of the database figures below (refreshed by the timer loop every METRICS_REFRESH_SECONDS).",
            value=(timezone.now() - taken_at).total_seconds(),
        )

        orders = GaugeMetricFamily("seatbooking_orders", "Orders by state.", labels=["state"])
        for state, n in figures["orders"].items():
            orders.add_metric([state], n)
        yield orders

        by_state = figures["holds"]
        yield CounterMetricFamily(
            "seatbooking_seat_holds_created", "Seat holds ever made.", value=sum(by_state.values())
        )
        ended = CounterMetricFamily(
            "seatbooking_seat_holds_ended",
            "Seat holds that ended, by how: released, expired, or confirmed (booked).",
            labels=["how"],
        )
        for state in ("RELEASED", "EXPIRED", "CONFIRMED"):
            ended.add_metric([state.lower()], by_state.get(state, 0))
        yield ended
        yield GaugeMetricFamily(
            "seatbooking_seat_holds_live", "Seats held now (not yet paid for).", value=by_state.get("HELD", 0)
        )

        attempts = CounterMetricFamily(
            "seatbooking_payment_attempts", "Payment attempts by outcome.", labels=["outcome"]
        )
        for outcome, n in figures["attempts"].items():
            attempts.add_metric([outcome], n)
        yield attempts

        late = figures["expiry"]
        buckets = [(str(b), n) for b, n in zip(EXPIRY_BUCKETS_SECONDS, late["le"], strict=True)] + [
            ("+Inf", late["total"])
        ]
        yield HistogramMetricFamily(
            "seatbooking_expiry_lateness_seconds",
            "From a hold's deadline to the timer loop expiring it.",
            buckets=buckets,
            sum_value=late["sum_ms"] / 1000,
        )


REGISTRY.register(DatabaseCollector())


def _may_scrape(request) -> bool:
    import hmac

    from django.conf import settings

    from seatbooking import client_address

    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if (
        token
        and header.lower().startswith("bearer ")
        and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    ):
        return True
    # REMOTE_ADDR is the client address ClientAddressMiddleware worked out (X-Forwarded-For from trusted proxies only).
    allowed = client_address.parse_networks(settings.METRICS_ALLOWED_ADDRESSES)
    return bool(allowed) and client_address.is_in(request.META.get("REMOTE_ADDR"), allowed)


@require_GET
def metrics(request):
    if not _may_scrape(request):
        return JsonResponse(
            {
                "error": "/metrics is closed. To open it, set METRICS_TOKEN and scrape with "
                "'Authorization: Bearer <token>', or list the scraper's address (or network) "
                "in METRICS_ALLOWED_ADDRESSES.",
                "code": "metrics_closed",
            },
            status=403,
        )
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


class RequestTimingMiddleware:
    """Times every request by its URL pattern (not its path, which would name every order)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match else "unmatched"
        REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(time.perf_counter() - started)
        return response
