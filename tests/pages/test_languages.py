"""The booking page in Portuguese in a real browser (its language from Accept-Language, as a Portuguese
browser sends it): the words the server renders and those the script writes as the page changes (seat
names, the countdown, a refused passenger field, money), axe-clean; and the header's switcher changing
the language without JavaScript."""

import pytest
from playwright.sync_api import expect

from tests.pages.tools import DESKTOP, SMALL_PHONE, assert_accessible, open_page, seat

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_booking_page_speaks_portuguese_to_a_portuguese_browser(site):
    site.start()
    page = open_page(site, DESKTOP, locale="pt-PT")
    page.goto(site.base + "/")
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    page.get_by_role("button", name="Reservar lugares no FL-001").click()
    page.wait_for_url("**/booking/**")
    expect(page.locator("#seat-legend")).to_contain_text("Escolha os seus lugares")
    expect(page.locator("#state")).to_have_text("Ainda sem lugares")
    expect(seat(page, "1A").locator("input")).to_have_attribute(
        "aria-label", "Fila 1, lugar A, janela, Normal 100,00 EUR, livre"
    )
    seat(page, "1A").click()
    expect(seat(page, "1A")).to_have_attribute("data-state", "mine")
    expect(seat(page, "1A").locator("input")).to_have_accessible_name(
        "Fila 1, lugar A, janela, Normal 100,00 EUR, guardado para si"
    )
    expect(page.locator("#state")).to_have_text("Lugares guardados")
    expect(page.locator("#countdown")).to_contain_text("Guardados durante")
    expect(page.locator("#summary-total")).to_have_text("Total 100,00 EUR")
    expect(page.locator("#pay-button")).to_have_text("Pagar 100,00 EUR")
    page.get_by_label("Nome próprio").fill("Ada")
    page.get_by_label("Apelido").fill("L0velace")
    page.get_by_label("Email de contacto").fill("ada@example.com")
    page.get_by_role("button", name="Guardar passageiros").click()
    expect(page.locator("#last-1A-error")).to_contain_text("Escreva o nome como no passaporte")
    expect(page.locator("#passenger-error")).to_contain_text("Verifique o formulário dos passageiros")
    page.get_by_label("Apelido").fill("Lovelace")
    page.get_by_role("button", name="Guardar passageiros").click()
    expect(page.locator("#passenger-saved")).to_have_text("Passageiros guardados. Já pode pagar.")
    assert_accessible(page, "the booking page in Portuguese")


def test_the_switcher_changes_the_language_without_javascript(site):
    site.start()
    page = open_page(site, SMALL_PHONE, java_script_enabled=False, locale="en-GB")
    page.goto(site.base + "/find-booking")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find my booking")
    page.get_by_role("group", name="Language").get_by_role("button", name="Português").click()
    page.wait_for_load_state()
    assert page.url.endswith("/find-booking")
    expect(page.get_by_role("heading", level=1)).to_have_text("Encontrar a minha reserva")
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    expect(page.get_by_role("button", name="Português")).to_have_attribute("aria-current", "true")
    page.get_by_role("group", name="Idioma").get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find my booking")
