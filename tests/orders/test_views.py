"""The pages through Django's test client: the flows that work without JavaScript, and who may see them."""

import pytest
from django.test import Client

from inventory.models import SeatHold
from orders.models import AuditEntry, Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser_client():
    return Client()


def start(client, flight_code="FL-001") -> str:
    response = client.post(f"/book/{flight_code}")
    assert response.status_code == 302
    return response["Location"].rsplit("/", 1)[1]


def test_home_lists_the_flights_with_seats_left(browser_client, flight):
    page = browser_client.get("/").content.decode()
    assert "FL-001" in page and "Tel Aviv → Athens" in page and "30 of 30" in page


def test_starting_a_booking_creates_an_order_owned_by_the_session(browser_client, flight):
    order_id = start(browser_client)
    page = browser_client.get(f"/booking/{order_id}")
    assert page.status_code == 200
    assert b'data-seat="5F"' in page.content and b"PENDING" in page.content
    assert AuditEntry.objects.get(order_id=order_id, action="create").actor == "session@127.0.0.1"


def test_someone_elses_booking_page_is_closed(browser_client, flight):
    order_id = start(browser_client)
    stranger = Client()
    page = stranger.get(f"/booking/{order_id}")
    assert page.status_code == 403 and order_id.encode() not in page.content
    assert stranger.post(f"/booking/{order_id}/seats", {"seats": ["1A"]}).status_code == 403
    assert Client().get("/booking/o-unknown").status_code == 404


def test_the_forms_hold_pay_and_cancel_without_javascript(browser_client, flight, monkeypatch):
    from orders import queue

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    order_id = start(browser_client)
    browser_client.post(f"/booking/{order_id}/seats", {"seats": ["1a", "2B"]})
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert "Seats updated." in page and 'data-seat="1A" data-state="mine"' in page
    browser_client.post(f"/booking/{order_id}/pay", {"code": "12"})
    assert "exactly 5 digits" in browser_client.get(f"/booking/{order_id}").content.decode()
    browser_client.post(f"/booking/{order_id}/pay", {"code": "12345"})
    assert Order.objects.get(pk=order_id).state == "PROCESSING_PAYMENT"
    browser_client.post(f"/booking/{order_id}/cancel")
    assert "Cannot cancel" in browser_client.get(f"/booking/{order_id}").content.decode()


def test_a_seat_taken_by_another_is_refused_on_the_form(browser_client, flight):
    other = Client()
    other_order = start(other)
    other.post(f"/booking/{other_order}/seats", {"seats": ["3C"]})
    order_id = start(browser_client)
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert 'data-seat="3C" data-state="held"' in page
    browser_client.post(f"/booking/{order_id}/seats", {"seats": ["3C"]})
    assert "Seat 3C is already taken" in browser_client.get(f"/booking/{order_id}").content.decode()


def test_forms_need_the_csrf_token(flight):
    client = Client(enforce_csrf_checks=True)
    assert client.post("/book/FL-001").status_code == 403


def test_an_order_made_by_the_api_opens_in_a_browser_with_its_token(flight):
    api = Client()
    created = api.post("/orders", {"flightID": "FL-001"}, content_type="application/json").json()
    browser = Client()
    assert browser.get(f"/booking/{created['orderID']}").status_code == 403
    closed = browser.get(f"/booking/{created['orderID']}").content.decode()
    assert "open it there" in closed and "?token=" not in closed  # said for a traveller, not for a program
    opened = browser.get(f"/booking/{created['orderID']}?token={created['token']}")
    assert opened.status_code == 303 and opened["Location"] == f"/booking/{created['orderID']}"  # token left behind
    assert browser.get(f"/booking/{created['orderID']}").status_code == 200  # the session remembers it


def test_a_typed_booking_link_leads_to_the_flights(browser_client, flight):
    response = browser_client.get("/book/FL-001")
    assert response.status_code == 302 and response["Location"] == "/"


def test_staff_open_any_booking_page(browser_client, flight):
    from django.contrib.auth.models import User

    order_id = start(browser_client)
    staff = Client()
    staff.force_login(User.objects.create_user("ops", password="x", is_staff=True))
    assert staff.get(f"/booking/{order_id}").status_code == 200
    plain = Client()
    plain.force_login(User.objects.create_user("someone", password="x"))
    assert plain.get(f"/booking/{order_id}").status_code == 403


def test_without_javascript_the_deadline_and_the_outcome_are_in_the_page(browser_client, flight):
    order_id = start(browser_client)
    browser_client.post(f"/booking/{order_id}/seats", {"seats": ["1A"]})
    deadline = Order.objects.get(pk=order_id).hold_expires_at
    assert deadline is not None
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert f'datetime="{deadline.isoformat()}"' in page and deadline.strftime("%H:%M:%S UTC") in page
    assert ">Seats held</span>" in page and "SEATS_SELECTED</span>" not in page
    assert 'id="manage-link"' in page  # shown once it is confirmed while open: the manage part comes with a reload
    Order.objects.filter(pk=order_id).update(state="CONFIRMED")  # as a payment leaves it: seats booked
    SeatHold.objects.filter(order_id=order_id).update(state="CONFIRMED", expires_at=None)
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert "Booked!" in page and "Your seats 1A on FL-001 are booked." in page


def test_unknown_bookings_and_paths_get_friendly_pages(browser_client, flight):
    page = browser_client.get("/booking/o-unknown")
    assert page.status_code == 404 and "We cannot find this booking" in page.content.decode()
    page = browser_client.get("/no/such/page", HTTP_ACCEPT="text/html")
    assert page.status_code == 404 and "There is no page here" in page.content.decode()
    assert browser_client.get("/no/such/page").json()["code"] == "no_such_path"  # API clients: JSON


def test_the_500_page_is_friendly(rf):
    from core.api_errors import server_error

    page = server_error(rf.get("/", HTTP_ACCEPT="text/html"))
    assert page.status_code == 500 and "Something went wrong on our side" in page.content.decode()


def test_the_favicon_is_served(browser_client):
    response = browser_client.get("/favicon.ico")
    assert response.status_code == 301
    assert browser_client.get(response["Location"]).status_code == 200


def test_the_home_page_says_the_hold_time_as_set(browser_client, flight, settings):
    settings.SEAT_HOLD_SECONDS = 20
    assert "yours for 20 seconds while you pay" in browser_client.get("/").content.decode()


def test_the_passenger_form_shows_a_refused_field_beside_it_and_what_was_typed(browser_client, flight):
    order_id = start(browser_client)
    browser_client.post(f"/booking/{order_id}/seats", {"seats": ["1A", "1B"]})
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert "Before paying, name a passenger for each seat." in page and 'id="pay-button"' in page
    assert "Total 200.00 EUR" in page and "Pay 200.00 EUR" in page
    form = {
        "seat": ["1A", "1B"],
        "first_name": ["Ada", "Grace"],
        "last_name": ["Lovelace", "Hopper3"],
        "email": "a@b.co",
    }
    browser_client.post(f"/booking/{order_id}/passengers", form)
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    beside = page.split('id="last-1B"', 1)[1].split("</p>", 1)[0]
    assert 'aria-invalid="true"' in beside and "autofocus" in beside
    assert 'id="last-1B-error">Passengers[1].lastName' not in beside and "Write the name as on the passport" in beside
    assert 'class="messages"' not in page  # said beside the field, not again at the top
    assert 'value="Hopper3"' in page and 'value="a@b.co"' in page  # shown again as typed
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert 'value="Hopper3"' not in page  # once
    form["last_name"] = ["Lovelace", "Hopper"]
    browser_client.post(f"/booking/{order_id}/passengers", form)
    page = browser_client.get(f"/booking/{order_id}").content.decode()
    assert "Passengers saved." in page and 'value="Hopper"' in page and 'id="pay-why"></p>' in page
