"""The Content-Security-Policy and the Permissions-Policy: on every page (ours, the admin, the API's docs,
the browsable API; JSON, never rendered, goes without on either path), and the pages working under them
in a real browser (Chromium): the booking flow from seats to the receipt, find my booking, the admin's
login and dashboard and the API's docs, with no violation reported and axe still at 0. A template with
inline script or style fails here before it reaches a browser."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from orders import services
from tests.api.conftest import application, call  # noqa: F401 - fixtures: the web processes' WSGI application
from tests.pages.tools import DESKTOP, OUTCOME_TIMEOUT_MS, assert_accessible, book, name_passengers, open_page, seat
from tests.processes import BASE_DIR

pytestmark = pytest.mark.django_db(transaction=True)

CSP = "Content-Security-Policy"
STRICT = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Each violation the page sees, and each error thrown, goes to the console, where the test collects it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""
# Swagger UI's own markup, which a stylesheet cannot change: an operation's summary is a button holding
# buttons, its headings skip a level, its title block sits outside its <main>. Every other rule holds on
# /api/docs/ (its colours and link sizes are fixed in static/css/swagger.css).
SWAGGER_UI_MARKUP = ("nested-interactive", "heading-order", "region")
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style", re.I), "a <style> block"),
]


def directives(header: str) -> dict[str, str]:
    return {name: value.strip() for name, _, value in (part.strip().partition(" ") for part in header.split(";"))}


def assert_strict(response, what: str) -> None:
    assert CSP in response, f"{what}: no {CSP}"
    found = directives(response[CSP])
    assert {name: found.get(name) for name in STRICT} == STRICT, f"{what}: {response[CSP]}"
    assert "'unsafe-inline'" not in response[CSP].replace("style-src-attr 'unsafe-inline'", ""), what
    assert "'unsafe-eval'" not in response[CSP], what
    for feature in ("camera", "microphone", "geolocation", "payment"):
        assert f"{feature}=()" in response["Permissions-Policy"], f"{what}: {feature}"


def test_every_kind_of_answer_carries_the_policies(client, flight):
    order, token = services.create_order(flight_code=flight.code, actor="test")
    User.objects.create_superuser("operator", password="a-long-operator-password")
    pages = ["/", "/find-booking", f"/booking/{order.pk}?token={token}", "/admin/login/", "/api/docs/"]
    for path in pages:
        response = client.get(path, follow=True)
        assert response.status_code == 200, path
        assert_strict(response, path)
    assert_strict(client.get("/api/docs/?script="), "Swagger UI's script")
    missing = client.get("/booking/o-unknown")  # the page's 404 (the API's are JSON)
    assert missing.status_code == 404
    assert_strict(missing, "unknown booking")
    logged_in = {"username": "operator", "password": "a-long-operator-password"}
    assert client.post("/admin/login/?next=/admin/", logged_in).status_code == 302
    for path in ("/admin/", "/admin/dashboard/", "/admin/orders/order/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response, path)
    # DRF's own page template has style attributes: allowed on the browsable API alone, scripts stay strict.
    browsable = client.get("/flights", HTTP_ACCEPT="text/html")
    assert_strict(browsable, "browsable API")
    assert directives(browsable[CSP])["style-src-attr"] == "'unsafe-inline'"
    assert "style-src-attr" not in client.get("/")[CSP]


def test_json_answers_go_without_on_both_paths(call, flight):  # noqa: F811 - tests/api's fixture
    """JSON is never rendered: no page policy, on the lean path (core/lean_handler.py, a bearer token without
    a cookie) as on the full one; the HTML of the browsable API at the same address has them."""
    order, token = services.create_order(flight_code=flight.code, actor="test")
    lean = call("GET", f"/orders/{order.pk}/status", token=token)
    full = call("GET", f"/orders/{order.pk}/status", token=token, Cookie="unrelated=1")
    assert lean.status == full.status == 200
    for answer in (lean, full):
        assert CSP not in answer.headers and "Permissions-Policy" not in answer.headers
    page = call("GET", f"/orders/{order.pk}/status", token=token, Accept="text/html")
    assert page.status == 200 and directives(page.headers[CSP])["script-src"] == "'self'"


def test_no_template_of_ours_has_inline_script_or_style():
    """Emails are read in mail programs, not under the site's policy: they keep their inline styles."""
    found = []
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        if "emails" in template.parts:
            continue
        text = template.read_text()
        found += [f"{template.relative_to(BASE_DIR)}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert not found, found


def watch(page) -> list[str]:
    """Console errors (CSP violations among them) and uncaught errors of the page, from now on."""
    problems: list[str] = []
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def assert_features_denied(page) -> None:
    """Chromium knows every feature the Permissions-Policy names (no typo is silently ignored) and allows none."""
    policy = page.evaluate(
        "names => ({unknown: names.filter(name => !document.featurePolicy.features().includes(name)),"
        " allowed: names.filter(name => document.featurePolicy.allowsFeature(name))})",
        list(settings.PERMISSIONS_POLICY),
    )
    assert policy == {"unknown": [], "allowed": []}


def test_the_traveller_pages_work_under_the_policies(site):
    """Home, seats, passengers, pay, the reference, the receipt's Print button, find my booking."""
    from playwright.sync_api import expect

    site.start()
    page = open_page(site, DESKTOP)
    problems = watch(page)
    page.goto(site.base + "/")
    assert_features_denied(page)
    assert_accessible(page, "home")
    book(site, page)
    seat(page, "1A").click()
    seat(page, "1B").click()
    expect(seat(page, "1B")).to_have_attribute("data-state", "mine")
    expect(page.locator("#your-seats")).to_have_text("1A, 1B")
    name_passengers(page, ("Ada", "Lovelace"), ("Grace", "Hopper"))
    assert_accessible(page, "booking, Pay open")
    page.locator("#code").fill("12345")
    page.get_by_role("button", name="Pay").click()
    reference = page.locator("#booking-reference")
    expect(reference).to_have_text(re.compile("^[A-Z2-9]{6}$"), timeout=OUTCOME_TIMEOUT_MS)
    assert_accessible(page, "booking, confirmed")
    booked = reference.text_content()
    page.get_by_role("link", name="Printable receipt").click()
    expect(page.get_by_role("button", name="Print")).to_be_visible()  # shown and wired by its script file
    assert_accessible(page, "receipt")
    finder = open_page(site, DESKTOP)
    problems += watch(finder)
    finder.goto(site.base + "/find-booking")
    assert_accessible(finder, "find my booking")
    finder.get_by_label("Booking reference").fill(booked)
    finder.get_by_label("Last name").fill("Lovelace")
    finder.get_by_role("button", name="Find my booking").click()  # form-action 'self': the form still posts
    expect(finder.locator("#booking-reference")).to_have_text(booked)
    assert not problems, problems


def test_the_admin_and_the_api_docs_work_under_the_policies(site):
    """The admin's login, its front page and the live dashboard (panels swapped by its script); Swagger UI."""
    from playwright.sync_api import expect

    User.objects.create_superuser("operator", password="a-long-operator-password")
    site.start(DASHBOARD_REFRESH_SECONDS=0.5)
    page = open_page(site, DESKTOP)
    problems = watch(page)
    page.goto(site.base + "/admin/login/?next=/admin/")
    assert_accessible(page, "admin login")
    page.get_by_label("Username").fill("operator")
    page.get_by_label("Password").fill("a-long-operator-password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Service dashboard").click()
    page.wait_for_url("**/admin/dashboard/")
    first = page.locator("#dash-updated").text_content()
    expect(page.locator("#dash-updated")).not_to_have_text(first or "", timeout=5_000)  # refreshed live
    expect(page.locator("#dashboard-panels .dash-legend .swatch").first).to_be_visible()
    assert_accessible(page, "dashboard")
    page.goto(site.base + "/api/docs/")
    expect(page.locator(".opblock").first).to_be_visible()  # Swagger UI built the page from the schema
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.mouse.move(0, 0)  # away from the summary, whose hover shows a copy button
    assert_features_denied(page)
    assert_accessible(page, "API docs", skipped_rules=SWAGGER_UI_MARKUP)
    assert not problems, problems
