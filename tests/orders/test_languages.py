"""English and Portuguese: the pages follow Accept-Language or the header's switcher (without JavaScript), a
refusal on a form is said in the page's language, and the confirmation email speaks the language the
order was made in. English stays the default."""

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from orders import queue, services, tasks
from orders.models import Order
from tests.orders.services.test_confirmation import confirm

pytestmark = pytest.mark.django_db
PORTUGUESE = {"Accept-Language": "pt-PT,pt;q=0.9,en;q=0.5"}
PASSENGERS = [{"seat": "1A", "firstName": "Ada", "lastName": "Lovelace"}]


def start(client: Client, headers: dict[str, str] | None = None) -> str:
    response = client.post("/book/FL-001", headers=headers)
    assert response.status_code == 302
    return response["Location"].rsplit("/", 1)[1]


def test_the_pages_speak_english_unless_the_browser_asks_for_portuguese(flight):
    english = Client().get("/").content.decode()
    assert '<html lang="en">' in english and "<h1>Flights</h1>" in english and "30 of 30" in english
    portuguese = Client().get("/", headers=PORTUGUESE).content.decode()
    assert '<html lang="pt">' in portuguese and "<h1>Voos</h1>" in portuguese and "30 de 30" in portuguese
    assert 'aria-label="Reservar lugares no FL-001"' in portuguese
    assert Client().get("/", headers={"Accept-Language": "de-DE,de"}).content.decode().count("<h1>Flights</h1>") == 1


def test_the_switcher_changes_the_language_without_javascript_and_comes_back_to_the_page(flight):
    browser = Client()
    page = browser.get("/find-booking").content.decode()
    assert 'name="language" value="pt" lang="pt"' in page and 'name="next" value="/find-booking"' in page
    switched = browser.post("/language", {"language": "pt", "next": "/find-booking"})
    assert switched.status_code == 302 and switched["Location"] == "/find-booking"
    page = browser.get("/find-booking", headers={"Accept-Language": "en"}).content.decode()  # the choice wins
    assert "<h1>Encontrar a minha reserva</h1>" in page and 'value="pt" lang="pt" aria-current="true"' in page
    browser.post("/language", {"language": "en", "next": "/"})
    assert "<h1>Find my booking</h1>" in browser.get("/find-booking", headers=PORTUGUESE).content.decode()


def test_a_refused_passenger_field_and_the_money_are_said_in_portuguese(flight):
    browser = Client()
    order_id = start(browser, headers=PORTUGUESE)
    browser.post(f"/booking/{order_id}/seats", {"seats": ["1A"]}, headers=PORTUGUESE)
    form = {"seat": ["1A"], "first_name": ["Ada"], "last_name": ["L0velace"], "email": "ada@example.com"}
    browser.post(f"/booking/{order_id}/passengers", form, headers=PORTUGUESE)
    page = browser.get(f"/booking/{order_id}", headers=PORTUGUESE).content.decode()
    assert "Escreva o nome como no passaporte" in page and "Lugares atualizados." in page
    assert "Fila 1, lugar A, janela" in page and "100,00 EUR" in page
    english = browser.get(f"/booking/{order_id}", headers={"Accept-Language": "en"}).content.decode()
    assert "100.00 EUR" in english and "Row 1, seat A, window" in english


def _confirmed_email(order_id: str, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    monkeypatch.setattr(queue, "enqueue_confirmation", lambda order_id: None)
    services.select_seats(order_id=order_id, labels=["1A"], actor="test")
    services.set_passengers(order_id=order_id, passengers=PASSENGERS, email="ada@example.com", actor="test")
    services.submit_payment(order_id=order_id, code="12345", actor="test")
    with django_capture_on_commit_callbacks(execute=True):
        confirm(order_id)
    assert tasks.send_confirmation_email(order_id) == "sent"
    [email] = mail.outbox
    assert isinstance(email, EmailMultiAlternatives)
    return email, str(email.body), str(email.alternatives[0][0])


def test_an_order_started_on_a_portuguese_page_is_confirmed_in_portuguese(
    flight, monkeypatch, django_capture_on_commit_callbacks
):
    order_id = start(Client(), headers=PORTUGUESE)
    assert Order.objects.get(pk=order_id).language == "pt"
    email, text, html = _confirmed_email(order_id, monkeypatch, django_capture_on_commit_callbacks)
    assert str(email.subject).startswith("Reserva ") and "confirmada" in str(email.subject)
    assert "A sua reserva está confirmada." in text and "Total pago: 100,00 EUR" in text
    assert "FL-001, Telavive → Atenas" in text and "Telavive → Atenas" in str(email.subject)
    assert '<html lang="pt">' in html and "Encontrar a minha reserva" in html and "100,00 EUR" in html


def test_an_order_made_without_a_language_is_confirmed_in_english(
    flight, monkeypatch, django_capture_on_commit_callbacks
):
    order_id = start(Client())
    assert Order.objects.get(pk=order_id).language == "en"
    email, text, html = _confirmed_email(order_id, monkeypatch, django_capture_on_commit_callbacks)
    assert str(email.subject).startswith("Booking ") and "Your booking is confirmed." in text
    assert "Total paid: 100.00 EUR" in text and '<html lang="en">' in html


def test_the_api_takes_the_language_of_an_order_from_accept_language(api, flight):
    created = api.post("/orders", {"flightID": "FL-001"}, format="json", HTTP_ACCEPT_LANGUAGE="pt-BR,pt;q=0.8")
    assert created.status_code == 201
    assert Order.objects.get(pk=created.json()["orderID"]).language == "pt"
    refused = api.post("/orders", {"flightID": "XX-999"}, format="json", HTTP_ACCEPT_LANGUAGE="pt")
    assert refused.json()["code"] == "unknown_flight" and refused.json()["error"].startswith("There is no flight")


def test_cities_are_named_in_the_pages_language_and_as_typed_in_the_api(api, flight):
    import datetime as dt

    from django.utils import translation

    from flights.models import Airport
    from flights.times import airport_time

    assert "Telavive → Atenas" in Client().get("/", headers=PORTUGUESE).content.decode()
    assert "Tel Aviv → Athens" in Client().get("/").content.decode()
    listed = api.get("/flights", HTTP_ACCEPT_LANGUAGE="pt").json()  # the contract's data, not words
    assert [f["route"] for f in listed if f["flightID"] == "FL-001"] == ["Tel Aviv → Athens"]
    lisbon = Airport(code="LIS", city="Lisbon", name="Humberto Delgado", time_zone="Europe/Lisbon")
    noon = dt.datetime(2026, 12, 14, 12, 0, tzinfo=dt.UTC)
    with translation.override("pt"):
        assert airport_time(noon, lisbon).endswith("12:00 (hora de Lisboa)")
    with translation.override("en"):
        assert airport_time(noon, lisbon).endswith("12:00 (Lisbon time)")
    other = Airport(code="XXX", city="Reykjavik", name="Keflavik", time_zone="Atlantic/Reykjavik")
    with translation.override("pt"):  # a city not in the words file: as typed
        assert airport_time(noon, other).endswith("(hora de Reykjavik)")
