"""The passenger form's email check in the page is the server's own rule (its pattern in the page's words):
"ada@example", which a browser's type=email lets through and the server refuses, is refused beside the
field before anything is sent, in the page's words."""

import os

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

from tests.pages.tools import PHONE, book, open_page, seat

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_refuses_an_email_the_server_would_refuse(site):
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, PHONE)
    book(site, page)
    seat(page, "3C").click()
    expect(seat(page, "3C")).to_have_attribute("data-state", "mine")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if request.url.endswith("/passengers") else None)
    group = page.locator("#passenger-rows .passenger").first
    group.get_by_label("First name").fill("Ada")
    group.get_by_label("Last name").fill("Lovelace")
    email = page.get_by_label("Contact email")
    email.fill("ada@example")
    page.get_by_role("button", name="Save passengers").click()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#contact-email-error")).to_have_text("Give an email address like ada@example.com.")
    assert not sent  # refused by the page itself: the same words the server's refusal gets
    email.fill("ada@example.com")
    page.get_by_role("button", name="Save passengers").click()
    expect(page.locator("#pay-button")).to_be_enabled()
