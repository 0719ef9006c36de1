"""The dashboard page in the admin: staff only, linked from the admin's index, drawn on the server, at a
fixed number of statements whatever the traffic."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders import queue
from tests.operations.burst import run_burst

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)


@pytest.fixture
def staff():
    client = Client()
    client.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    return client


def test_only_staff_see_it(flight):
    response = Client().get("/admin/dashboard/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client = Client()
    client.force_login(User.objects.create_user("traveller", password="x"))
    assert client.get("/admin/dashboard/").status_code == 302
    assert client.get("/admin/dashboard/?panels=1").status_code == 302


def test_the_admin_index_links_to_it(staff):
    assert 'href="/admin/dashboard/"' in staff.get("/admin/").content.decode()


def test_the_page_shows_the_figures_as_svg_with_text_alternatives(staff, flight):
    run_burst(flight.code)
    html = staff.get("/admin/dashboard/").content.decode()
    found = re.search(r'<tr data-flight="FL-001">(.*?)</tr>', html, re.S)
    assert found is not None
    row = found.group(1)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts == {"available": "21", "held": "6", "booked": "3", "total": "30"}
    assert 'aria-label="FL-001: 3 booked, 6 held, 21 available"' in row
    assert re.search(r'<rect class="held" x="10.0" y="0" width="20.0"', row)  # 6 of 30 seats, after 3 booked
    for chart in ("holds-chart", "attempts-chart", "lateness-chart"):
        assert f'<svg id="{chart}"' in html
    assert 'id="success-rate">67 %<' in html  # 2 of 3 finished attempts
    assert "2 expiries: p50" in html
    assert "<script" in html and "static/operations/dashboard" in html  # the poll, served by the app itself
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html  # nothing from outside


def test_the_poll_gets_the_panels_alone(staff, flight):
    response = staff.get("/admin/dashboard/?panels=1")
    html = response.content.decode()
    assert response.status_code == 200 and "no-cache" in response["Cache-Control"]
    assert 'class="dash-grid"' in html and "<html" not in html and "{#" not in html


def statements(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_page_costs_the_same_statements_however_busy_the_service(staff, flight):
    quiet = statements(staff, "/admin/dashboard/?panels=1")
    run_burst(flight.code)
    busy = statements(staff, "/admin/dashboard/?panels=1")
    # the session and the user (admin login), then nine: flights, holds, attempts, expiries, heartbeats,
    # the web processes' reports, and paid bookings' seat changes, cancellations and refunds
    assert len(busy) == len(quiet) == 11, busy
