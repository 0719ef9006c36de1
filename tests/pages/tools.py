"""Helpers of the page tests: phone and desktop browsers, axe-core, a longer flight, a server restart."""

import datetime as dt
import functools
import json
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.http import wait_for_server
from tests.processes import BASE_DIR

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NARROW_PHONE = {"width": 360, "height": 740}
SMALL_PHONE = {"width": 360, "height": 640}
# Every page state is checked at these sizes (the same page, resized: reaching a state once is enough).
AXE_SIZES = (DESKTOP, PHONE, SMALL_PHONE)
# How long a payment's outcome may take to show: a write waits up to SQLite's 20 s busy timeout on a loaded
# machine (CI ran the whole suite on two cores), then the worker's attempt and the live event follow.
OUTCOME_TIMEOUT_MS = 25_000
AXE = BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 A and AA, and axe's best practices (they catch, e.g., an empty table header).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def open_page(site, viewport=DESKTOP, **context_options):
    phone = viewport["width"] < 600
    context = site.browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone, **context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@functools.cache
def axe_source() -> str:
    return Path(AXE).read_text()


def axe_violations(page, skipped_rules: tuple[str, ...] = ()) -> list[dict]:
    if not Path(AXE).exists():
        message = f"needs axe-core at {AXE} (npm ci)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())  # evaluated, not added as a <script>: the pages' policy refuses inline script
    found = page.evaluate(
        "([tags, skipped]) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],"
        " rules: Object.fromEntries(skipped.map(rule => [rule, {enabled: false}]))})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))",
        [AXE_TAGS, list(skipped_rules)],
    )
    return found


def assert_accessible_at_all_sizes(page, what: str, skipped_rules: tuple[str, ...] = ()) -> None:
    """0 axe violations at 1280x900, 390x844 and 360x640 (the page as it is now, resized, then back to its
    size), but for skipped_rules. A state is reached once and checked at every size."""
    size, scrolled = page.viewport_size, page.evaluate("[window.scrollX, window.scrollY]")
    try:
        for viewport in AXE_SIZES:
            page.set_viewport_size(viewport)
            # From the top at every size: what a sticky bar covers (axe's target-size) then depends on the
            # page, not on where the last resize left the scroll.
            page.evaluate("window.scrollTo(0, 0)")
            page.wait_for_timeout(50)  # let the layout settle
            found = without_scroll_artefacts(page, axe_violations(page, skipped_rules))
            assert not found, f"{what} at {viewport['width']}x{viewport['height']}:\n{json.dumps(found, indent=1)}"
    finally:
        if size:
            page.set_viewport_size(size)
        page.evaluate("([x, y]) => window.scrollTo(x, y)", scrolled)


def without_scroll_artefacts(page, found: list[dict]) -> list[dict]:
    """axe's target-size counts a control partly under the sticky bar, where the scroll happens to leave it,
    as too small. Such a control is checked again where a traveller would press it, scrolled into view: it
    stays a violation only if it is too small there too."""
    kept = []
    for violation in found:
        nodes = violation["nodes"]
        if violation["id"] == "target-size":
            nodes = [node for node in nodes if not ("partially obscured" in node and fine_in_view(page, node))]
        if nodes:
            kept.append({**violation, "nodes": nodes})
    return kept


def fine_in_view(page, node: str) -> bool:
    return page.evaluate(
        "async selector => { const target = document.querySelector(selector); if (!target) return false;"
        " target.scrollIntoView({block: 'center'});"
        " const result = await axe.run(target, {runOnly: {type: 'rule', values: ['target-size']},"
        " resultTypes: ['violations']}); return result.violations.length === 0; }",
        node.split(": ", 1)[0],
    )


# The older name: every check is made at all three sizes.
assert_accessible = assert_accessible_at_all_sizes


def long_flight(code: str = "F-300", rows: int = 30):
    """A flight as long as the demo's F-100, with exits, wings and its fare zones (EUR)."""
    from django.utils import timezone

    from flights.services import create_flight

    return create_flight(
        code=code,
        origin="Amsterdam",
        destination="Lisbon",
        departs_at=timezone.now() + dt.timedelta(days=2),
        rows=rows,
        letters="ABCDEF",
        aisles_after="C",
        exit_rows="1,12,13",
        wing_rows="10-18",
        base_fare="89.00",
        fare_zones=[
            {"name": "Front", "rows": [1, 3], "price": "129.00"},
            {"name": "Extra legroom", "rows": [12, 13], "price": "119.00"},
        ],
    )


def restart_web(site) -> None:
    """Stop the web process as a deploy does (SIGTERM) and start a new one on the same port."""
    web = next(p for p in site.processes.running if "deploy.serve" in p.args)
    site.processes.stop(web)
    site.processes.start_web(int(site.base.rsplit(":", 1)[1]))
    wait_for_server(site.base)


def stop_web(site):
    web = next(p for p in site.processes.running if "deploy.serve" in p.args and p.poll() is None)
    site.processes.stop(web)


def start_web(site) -> None:
    site.processes.start_web(int(site.base.rsplit(":", 1)[1]))
    wait_for_server(site.base)


def seat(page, label: str):
    return page.locator(f'.seat[data-seat="{label}"]')


def book(site, page, flight: str = "FL-001") -> str:
    page.goto(site.base + "/")
    page.get_by_role("button", name=f"Book seats on {flight}").click()
    page.wait_for_url("**/booking/**")
    return page.url.rsplit("/", 1)[1]


def name_passengers(page, *names: tuple[str, str], email: str = "ada@example.com") -> None:
    """Fill the passenger form for every held seat and save it (with JavaScript or without): Pay opens."""
    from playwright.sync_api import expect

    groups = page.locator("#passenger-rows .passenger")
    expect(groups.first).to_be_visible()
    for n in range(groups.count()):
        first, last = names[n] if n < len(names) else ("Ada", "Lovelace")
        groups.nth(n).get_by_label("First name").fill(first)
        groups.nth(n).get_by_label("Last name").fill(last)
    page.get_by_label("Contact email").fill(email)
    page.get_by_role("button", name="Save passengers").click()
    expect(page.locator("#pay-button")).to_be_enabled()
