import pytest
from django.utils import timezone

from flights.services import create_flight
from tests.security.hoarding import HOLD_LIMIT, ORDERS_LIMIT


@pytest.fixture
def limits(settings):
    """The default limits (the suite turns them off: tests/conftest.py)."""
    settings.CLIENT_HOLD_LIMIT_SEATS, settings.CLIENT_OPEN_ORDERS_LIMIT = HOLD_LIMIT, ORDERS_LIMIT


@pytest.fixture
def big_flight(db):
    """A 180-seat flight, as F-100."""
    return create_flight(
        code="F-900", origin="Tel Aviv", destination="Rome", departs_at=timezone.now(), rows=30, letters="ABCDEF"
    )
