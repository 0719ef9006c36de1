"""Each streams process reports its event delivery and open streams; the dashboard shows the fresh reports
of every such process, whichever process serves the admin."""

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from core.metrics import OPEN_STREAMS
from operations import selectors
from operations.models import WebProcessReport
from operations.reporting import process_state
from operations.services import write_report

pytestmark = pytest.mark.django_db


def test_a_report_is_one_row_per_process_kept_up_to_date(django_assert_num_queries):
    started = timezone.now()
    write_report(name="web-a:1", started_at=started, **process_state())
    OPEN_STREAMS.labels("flight").inc()
    try:
        with django_assert_num_queries(1):  # from the second report on, one UPDATE
            write_report(name="web-a:1", started_at=started, **process_state())
        (report,) = WebProcessReport.objects.all()
        assert report.streams["flight"] >= 1 and report.started_at == started
        assert report.delivery == "stopped"  # no event loop here: delivery never started
    finally:
        OPEN_STREAMS.labels("flight").dec()


def test_old_reports_are_deleted_when_a_process_starts():
    WebProcessReport.objects.create(
        name="gone:1", started_at=timezone.now(), beat_at=timezone.now() - dt.timedelta(hours=2),
        delivery="redis", delivery_since=timezone.now(),
    )  # fmt: skip
    write_report(name="web-b:2", started_at=timezone.now(), **process_state())
    assert list(WebProcessReport.objects.values_list("name", flat=True)) == ["web-b:2"]


def report(name: str, *, age: float, delivery: str = "redis", **streams: int) -> None:
    now = timezone.now()
    WebProcessReport.objects.create(
        name=name, started_at=now, beat_at=now - dt.timedelta(seconds=age), delivery=delivery,
        delivery_since=now, streams=streams,
    )  # fmt: skip


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    return client


def test_the_dashboard_adds_up_the_fresh_reports(staff, settings, django_assert_num_queries):
    settings.HEARTBEAT_SECONDS = 5
    report("streams-1:10", age=2, flight=3, order=2)
    report("streams-2:11", age=4, flight=1)
    report("streams-3:12", age=60, flight=50)  # stopped a minute ago: not counted
    with django_assert_num_queries(1):
        assert [r.name for r in selectors.fresh_process_reports(now=timezone.now())] == ["streams-1:10", "streams-2:11"]
    html = staff.get("/admin/dashboard/?panels=1").content.decode()
    assert '<td id="open-streams">6</td>' in html and "in 2 web processes: flight 4, order 2" in html
    assert 'data-check="event delivery" data-ok="true"' in html


def test_a_process_without_redis_shows_as_degraded(staff):
    report("streams-1:10", age=1)
    report("streams-2:11", age=1, delivery="table: redis down")
    html = staff.get("/admin/dashboard/?panels=1").content.decode()
    assert 'data-check="event delivery" data-ok="false"' in html and "degraded" in html
    assert "streams-2:11: table: redis down" in html


def test_no_report_is_said(staff):
    html = staff.get("/admin/dashboard/?panels=1").content.decode()
    assert 'data-check="event delivery" data-ok="false"' in html
    assert "no web process serving event streams reported in the last 15 s" in html


def test_the_reporter_starts_at_startup_and_a_request_adds_nothing(monkeypatch):
    """A request costs what it did before the reports (review 17, defect 13): one delivery check."""
    import asyncio

    from core.events.delivery import DELIVERY
    from core.web_process import WebProcess
    from operations.reporting import REPORTER

    calls: list[str] = []
    monkeypatch.setattr(REPORTER, "ensure_started", lambda: calls.append("reporter"))
    monkeypatch.setattr(DELIVERY, "ensure_started", lambda: calls.append("delivery"))
    monkeypatch.setattr(WebProcess, "close_streams_on_stop_signals", staticmethod(lambda: None))

    async def app(scope, receive, send) -> None:
        pass

    async def lifespan_then_requests() -> None:
        process = WebProcess(app)
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

        async def receive():
            return next(messages)

        async def send(message):
            pass

        monkeypatch.setattr("core.web_process.close_streams", lambda: None)
        await process({"type": "lifespan"}, receive, send)
        assert calls == ["delivery", "reporter"]
        calls.clear()
        for _ in range(3):
            await process({"type": "http", "path": "/flights"}, receive, send)

    asyncio.run(lifespan_then_requests())
    assert calls == ["delivery"] * 3
