import os

import pytest
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from flights.services import create_flight

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


# The multi-host tests build a network of their own and need root: `make test-hosts` runs them (TEST_HOSTS).
collect_ignore = [] if os.environ.get("TEST_HOSTS") else ["hosts"]


@pytest.fixture(autouse=True)
def _require_postgres_when_marked(request):
    """Tests marked postgres_only need real row locks. In CI they fail without PostgreSQL; locally they skip."""
    if request.node.get_closest_marker("postgres_only") and connection.vendor != "postgresql":
        message = (
            "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/seatbooking (make test-postgres)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _static_files_collected():
    """Pages name static files by their hashed names (manifest storage): collect them if `make` did not."""
    from django.conf import settings
    from django.core.management import call_command

    if not (settings.STATIC_ROOT / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions(django_db_setup, django_db_blocker):
    """Tests kill server processes; PostgreSQL may not have noticed yet when the test database is dropped."""
    yield
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request through the locale middleware leaves its language active in the thread: the next test would
    read Portuguese where it expects the default."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _generous_throttles(settings):
    """Tests send hundreds of requests from one address; test_throttling.py sets small limits itself. The
    limits on what one client may hold are off too (tests/security/test_hoarding.py sets them itself)."""
    settings.THROTTLE_RATES = dict.fromkeys(settings.THROTTLE_RATES, "1000000/min")
    # Find my booking's failures do not make an address wait (tests/security/test_find_booking_abuse.py does).
    settings.FIND_BOOKING_FREE_FAILURES = settings.FIND_BOOKING_REFERENCE_FREE_FAILURES = 1_000_000
    settings.CLIENT_HOLD_LIMIT_SEATS = settings.CLIENT_OPEN_ORDERS_LIMIT = 0


# The same for the servers and workers tests start (tests/processes.py passes the environment on).
os.environ.setdefault("CLIENT_HOLD_LIMIT_SEATS", "0")
os.environ.setdefault("CLIENT_OPEN_ORDERS_LIMIT", "0")


@pytest.fixture
def flight(db):
    """The original system's grid: 5 rows x ABCDEF."""
    from django.utils import timezone

    return create_flight(
        code="FL-001",
        origin="Tel Aviv",
        destination="Athens",
        departs_at=timezone.now(),
        rows=5,
        letters="ABCDEF",
        aisles_after="C",
    )


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def new_order(api, flight):
    """Create an order through the API; returns (order_id, token)."""

    def make(order_id: str | None = None) -> tuple[str, str]:
        body = {"flightID": flight.code, **({"orderID": order_id} if order_id else {})}
        response = api.post("/orders", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()["orderID"], response.json()["token"]

    return make


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}
