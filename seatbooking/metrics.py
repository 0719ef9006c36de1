"""GET /metrics in Prometheus' text format (prometheus_client).

Business figures are read from the database at each scrape, so every process's work counts (web,
workers, timer loop) without a shared metrics store. Request latencies and open event streams are
this web process's own.
"""

import time

from django.db.models import Count, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

REGISTRY = CollectorRegistry()
REQUEST_SECONDS = Histogram("seatbooking_http_request_duration_seconds", "Time to answer an HTTP request.",
                            ["method", "route", "status"], registry=REGISTRY)
OPEN_STREAMS = Gauge("seatbooking_open_event_streams", "Event streams open in this web process.", ["kind"],
                     registry=REGISTRY)
EXPIRY_BUCKETS_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class DatabaseCollector:
    def collect(self):
        from orders.models import AuditEntry, Order, PaymentAttempt, SeatHold

        orders = GaugeMetricFamily("seatbooking_orders", "Orders by state.", labels=["state"])
        for state, n in Order.objects.values_list("state").annotate(n=Count("pk")).order_by():
            orders.add_metric([state], n)
        yield orders

        by_state = dict(SeatHold.objects.values_list("state").annotate(n=Count("pk")).order_by())
        yield CounterMetricFamily("seatbooking_seat_holds_created", "Seat holds ever made.",
                                  value=sum(by_state.values()))
        ended = CounterMetricFamily("seatbooking_seat_holds_ended", "Seat holds that ended, by how: released, "
                                    "expired, or confirmed (booked).", labels=["how"])
        for state in ("RELEASED", "EXPIRED", "CONFIRMED"):
            ended.add_metric([state.lower()], by_state.get(state, 0))
        yield ended
        yield GaugeMetricFamily("seatbooking_seat_holds_live", "Seats held now (not yet paid for).",
                                value=by_state.get("HELD", 0))

        attempts = CounterMetricFamily("seatbooking_payment_attempts", "Payment attempts by outcome.",
                                       labels=["outcome"])
        for outcome, n in PaymentAttempt.objects.values_list("outcome").annotate(n=Count("pk")).order_by():
            attempts.add_metric([outcome], n)
        yield attempts

        # Lateness of the timer loop's expiries: deadline to EXPIRED, as recorded in each audit entry.
        late = AuditEntry.objects.filter(action="expire", actor="system:timers").aggregate(
            total=Count("pk"), sum_ms=Sum(Cast(KT("details__late_ms"), FloatField())),
            **{f"le_{i}": Count("pk", filter=Q(details__late_ms__lte=b * 1000))
               for i, b in enumerate(EXPIRY_BUCKETS_SECONDS)},
        )
        buckets = [(str(b), late[f"le_{i}"]) for i, b in enumerate(EXPIRY_BUCKETS_SECONDS)] + [("+Inf", late["total"])]
        yield HistogramMetricFamily("seatbooking_expiry_lateness_seconds",
                                    "From a hold's deadline to the timer loop expiring it.",
                                    buckets=buckets, sum_value=(late["sum_ms"] or 0) / 1000)


REGISTRY.register(DatabaseCollector())


@require_GET
def metrics(request):
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
