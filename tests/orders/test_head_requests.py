"""HEAD, as `curl -I` and link checkers send it, answers every page as GET would, without the body: the
pages, the receipt, the health probe, the dashboard and the API's reads alike (never 405); find my booking's
form is not taken for a lookup."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_page_answers_head_as_get(flight):
    browser = Client()
    order_id = browser.post(f"/book/{flight.code}")["Location"].rsplit("/", 1)[1]
    for path in ("/", "/find-booking", f"/booking/{order_id}", f"/booking/{order_id}/receipt", "/health"):
        got, head = browser.get(path), browser.head(path)
        assert (path, head.status_code) == (path, got.status_code) and got.status_code in (200, 503), path
        assert head.content == b"" and head["Content-Type"] == got["Content-Type"], path
    assert browser.head(f"/flights/{flight.code}").status_code == 200


def test_the_admins_dashboard_answers_head(flight):
    staff = get_user_model().objects.create_superuser("olga", "olga@example.com", "a long password 1")
    browser = Client()
    browser.force_login(staff)
    assert browser.head("/admin/dashboard/").status_code == browser.get("/admin/dashboard/").status_code == 200
