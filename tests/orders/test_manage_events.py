"""A confirmed booking's seat change and cancellation, live: the order's stream carries its new status and
the flight's stream the seats freed and booked, from a real ASGI server (both transports), as a second
viewer of the seat map sees them."""

import datetime as dt

import pytest
from django.utils import timezone

from flights.services import create_flight
from tests.core.events.test_streams import Live
from tests.http import SSEStream, call
from tests.processes import Processes

pytestmark = pytest.mark.django_db(transaction=True)

FLIGHT = "FL-301"


@pytest.fixture(params=["embedded", "redis"])
def live(request, transactional_db, tmp_path, settings):
    # Departing in two days: changes to a booking close only hours before departure.
    create_flight(
        code=FLIGHT,
        origin="Lisbon",
        destination="Porto",
        departs_at=timezone.now() + dt.timedelta(days=2),
        rows=5,
        letters="ABCD",
        aisles_after="B",
    )
    processes = Processes(tmp_path)
    yield Live(processes, settings, request.param)
    processes.kill_all()
    print(processes.logs())


def confirmed_booking(live: Live, seats: list[str]) -> tuple[str, str, SSEStream]:
    """A booking paid through the API and confirmed by the worker, its stream open past the confirmation."""
    order_id, token = live.new_order(FLIGHT)
    stream = live.order_stream(order_id, token)
    stream.next()
    assert call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": seats}, token)[0] == 200
    assert call(live.base, "POST", f"/orders/{order_id}/payment", {"code": "12345"}, token)[0] == 202
    stream.next_matching(lambda e: e.data["State"] == "CONFIRMED", timeout=10.0)
    return order_id, token, stream


def test_a_seat_change_and_a_cancellation_reach_the_order_and_the_flight_streams(live):
    live.start(background=True)
    order_id, token, stream = confirmed_booking(live, ["1A", "1B"])
    viewer = SSEStream(live.base, f"/flights/{FLIGHT}/events")
    assert viewer.next().type == "availability"

    # The same price: settled at once, no charge to wait for.
    assert call(live.base, "POST", f"/orders/{order_id}/seats", {"seats": ["2A", "2B"]}, token)[0] == 200
    changed = stream.next_matching(lambda e: e.data["Seats"] == ["2A", "2B"], timeout=2.0)
    assert changed.data["State"] == "CONFIRMED" and changed.data["Change"]["State"] == "DONE"
    moved = viewer.next_matching(lambda e: e.type == "seats" and "1A" in e.data["available"], timeout=2.0)
    assert (moved.data["available"], moved.data["confirmed"]) == (["1A", "1B"], ["2A", "2B"])

    assert call(live.base, "POST", f"/orders/{order_id}/cancel", {"seats": ["2B"]}, token)[0] == 200
    partly = stream.next_matching(lambda e: e.data["Seats"] == ["2A"], timeout=2.0)
    assert partly.data["State"] == "CONFIRMED" and partly.data["Refund"]
    freed = viewer.next_matching(lambda e: e.type == "seats" and e.data["available"] == ["2B"], timeout=2.0)
    assert freed.data["confirmed"] == []

    assert call(live.base, "POST", f"/orders/{order_id}/cancel", None, token)[0] == 200
    cancelled = stream.next_matching(lambda e: e.data["State"] == "CANCELLED", timeout=2.0)
    assert cancelled.data["Seats"] == []
    viewer.next_matching(lambda e: e.type == "seats" and e.data["available"] == ["2A"], timeout=2.0)
    stream.close()
    viewer.close()
