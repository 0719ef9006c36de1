"""One currency check, for the currencies priced in cents only (money() prints two
decimals), in the service and the admin's form alike."""

import pytest
from django.core.exceptions import ValidationError

from core.errors import InvalidInput
from flights.models import Flight
from flights.services import create_flight


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["JPY", "KWD", "XYZ", "eur"])
def test_a_currency_not_priced_in_cents_is_refused_by_the_service_and_the_model(flight, currency):
    with pytest.raises(InvalidInput, match="priced in cents"):
        create_flight(
            code="X-1",
            origin="A",
            destination="B",
            departs_at=flight.departs_at,
            rows=1,
            letters="A",
            currency=currency,
        )
    flight.currency = currency
    with pytest.raises(ValidationError, match="priced in cents"):
        flight.full_clean()
    assert Flight.objects.filter(code="X-1").count() == 0
