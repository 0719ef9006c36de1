"""GET /metrics in Prometheus' text format (prometheus_client), and the metrics of this process.

Request latencies, open event streams and event delivery are this web process's own. The business
figures (orders/metrics.py) register their collector here. Closed unless METRICS_TOKEN or
METRICS_ALLOWED_ADDRESSES is set.

Under granian (deploy/granian.py) each worker is a process with its own figures, and a scrape lands on
any one of them: there PROMETHEUS_MULTIPROC_DIR is set, every worker writes its figures to files in it
(prometheus_client's multiprocess mode), and a scrape reads all of them, so counters never jump back.
"""

import hmac
import os
import time

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from core import client_address
from core.models import Heartbeat

REGISTRY = CollectorRegistry()
# Collectors that read the database or this process's pool when scraped (not figures kept in memory): in
# multiprocess mode they run once, beside the workers' files (register_collector).
COLLECTORS: list = []
REQUEST_SECONDS = Histogram(
    "seatbooking_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
# The gauges are set in the ASGI process only (streams, delivery, request slots). The WSGI workers'
# files of them hold zeros, so a replaced worker's files, never removed, change no sum or maximum
# (deploy/granian.py; tests/operations/test_web_metrics.py checks it).
OPEN_STREAMS = Gauge(
    "seatbooking_open_event_streams",
    "Event streams open in this web process.",
    ["kind"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
EVENT_DELIVERY = Gauge(
    "seatbooking_event_delivery",
    "How this web process learns of new events: 1 for the mode in "
    "use (redis: pub/sub; table: polling the event table, the fallback while Redis is down).",
    ["mode"],
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
EVENT_DELIVERY_OUTAGES = Counter(
    "seatbooking_event_delivery_outages",
    "Times this web process lost its Redis subscription and fell back to polling the event table.",
    registry=REGISTRY,
)
EVENT_DELIVERY_DEGRADED = Gauge(
    "seatbooking_event_delivery_degraded",
    "1 while this web process's Redis subscription is broken and its streams are fed by polling the event table.",
    registry=REGISTRY,
    multiprocess_mode="livemax",
)
# Capacity (alert: saturation). The ASGI process's request slots (core/admission.py) are read when scraped.
WEB_SLOTS = Gauge(
    "seatbooking_web_request_slots",
    "Requests this web process runs at once (WEB_THREADS).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
WEB_IN_FLIGHT = Gauge(
    "seatbooking_web_requests_in_flight",
    "Requests running in this web process's slots now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
WEB_WAITING = Gauge(
    "seatbooking_web_requests_waiting",
    "Requests waiting for a free slot in this web process now.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
BUSY_REFUSALS = Counter(
    "seatbooking_web_busy_refusals",
    "Requests refused with 503 busy: no slot came free (or, behind nginx, the request queued) for WEB_MAX_WAIT_SECONDS.",
    registry=REGISTRY,
)


class HeartbeatCollector:
    """Seconds since the timer loop and a worker last reported (core/health.py): one small read per scrape,
    so that a dead loop or worker shows at the next scrape. +Inf for one that never reported."""

    NAMES = ("timers", "worker")

    def collect(self):
        beats = dict(Heartbeat.objects.values_list("name", "beat_at"))
        now = timezone.now()
        family = GaugeMetricFamily(
            "seatbooking_heartbeat_age_seconds",
            "Seconds since a background process last reported: the timer loop (timers), a worker (worker).",
            labels=["process"],
        )
        for name in self.NAMES:
            family.add_metric([name], (now - beats[name]).total_seconds() if name in beats else float("inf"))
        yield family


class DatabasePoolCollector:
    """This web process's PostgreSQL connection pool (psycopg_pool), read when scraped. Without a pool (SQLite,
    DB_POOL_MAX_SIZE=0, the WSGI workers) the families are declared with no sample."""

    def collect(self):
        connections = GaugeMetricFamily(
            "seatbooking_db_pool_connections",
            "This web process's pooled database connections: max (DB_POOL_MAX_SIZE), open, idle.",
            labels=["state"],
        )
        waiting = GaugeMetricFamily(
            "seatbooking_db_pool_waiting",
            "Requests waiting for a pooled database connection in this web process now.",
            labels=[],
        )
        if connection.settings_dict.get("OPTIONS", {}).get("pool"):
            stats = connection.pool.get_stats()  # type: ignore[attr-defined] # PostgreSQL's wrapper has it
            for state, key in (("max", "pool_max"), ("open", "pool_size"), ("idle", "pool_available")):
                connections.add_metric([state], stats.get(key, 0))
            waiting.add_metric([], stats.get("requests_waiting", 0))
        yield connections
        yield waiting


def register_collector(collector) -> None:
    """A collector that reads its figures when scraped (the database, this process's pool)."""
    COLLECTORS.append(collector)
    REGISTRY.register(collector)


def scraped_registry() -> CollectorRegistry:
    """This process's registry, or under granian (PROMETHEUS_MULTIPROC_DIR set) every worker's figures from
    their files plus the collectors that read when scraped."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for collector in COLLECTORS:
        registry.register(collector)
    return registry


register_collector(HeartbeatCollector())
register_collector(DatabasePoolCollector())


def _may_scrape(request) -> bool:
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


@require_safe
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
    return HttpResponse(generate_latest(scraped_registry()), content_type=CONTENT_TYPE_LATEST)


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
