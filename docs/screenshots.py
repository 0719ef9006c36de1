"""Regenerate the screenshots of the booking page in the README and docs/travellers.md (docs/booking-desktop.png,
docs/booking-phone.png, docs/booking-phone-pt.png): `make screenshots`. Starts the service on a throw-away SQLite
database with the demo flights, holds a few seats for another traveller and books one, then opens flight F-100 as
a traveller at 1280x900 (two seats held, their passengers named: Pay shows the amount) and as a 390x844 phone in
English and in Portuguese (two seats found together, proposed with their price and held: the bar shows the
total and why Pay waits), and photographs each. Needs Chromium at /usr/bin/chromium (or CHROMIUM_PATH).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import ViewportSize, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def call(base: str, path: str, body: dict, token: str = "") -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method="POST", headers=headers)  # noqa: S310 (ours)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own server)
        return json.loads(response.read())


def serve(env: dict[str, str]) -> tuple[str, list[subprocess.Popen]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
        )
    web = [
        sys.executable,
        "-m",
        "uvicorn",
        "seatbooking.asgi:application",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    processes = [
        subprocess.Popen(argv, cwd=ROOT, env=env) for argv in (web, [sys.executable, "manage.py", "run_worker"])
    ]
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/flights", timeout=1)  # noqa: S310 (our own server)
            return base, processes
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not start at {base}")


def others(base: str) -> None:
    """Another traveller holds 3C-3D and 7A; someone booked 5E-5F."""
    for seats, pay in ((["3C", "3D", "7A"], False), (["5E", "5F"], True)):
        order = call(base, "/orders", {"flightID": "F-100"})
        call(base, f"/orders/{order['orderID']}/seats", {"seats": seats}, order["token"])
        if pay:
            call(base, f"/orders/{order['orderID']}/payment", {"code": "12345"}, order["token"])
    time.sleep(1.5)  # the payment's worker confirms


def photograph(base: str) -> None:
    """Desktop: two seats chosen on the map, their passengers named, Pay with the amount. Phone: two seats
    found together, the bar with the total and why Pay waits for the passengers' names."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for name, viewport, locale in (
            ("desktop", ViewportSize(width=1280, height=900), "en-GB"),
            ("phone", ViewportSize(width=390, height=844), "en-GB"),
            ("phone-pt", ViewportSize(width=390, height=844), "pt-PT"),
        ):
            phone = name.startswith("phone")
            context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone, locale=locale)
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(base + "/")
            page.locator('form[action="/book/F-100"] button').click()  # by place: its name is in the page's language
            page.wait_for_url("**/booking/**")
            if phone:
                page.locator("#best-count").select_option("2")
                page.locator("#best-zone").select_option("Extra legroom")
                page.locator("#best-button").click()
                page.locator("#best-hold").click()  # the proposal, with its price, then hold it
                expect(page.locator("#passenger-rows .passenger")).to_have_count(2)
                page.locator(".best-form").scroll_into_view_if_needed()
            else:
                for label in ("4A", "4B"):
                    page.locator(f'.seat[data-seat="{label}"]').click()
                    expect(page.locator(f'.seat[data-seat="{label}"]')).to_have_attribute("data-state", "mine")
                rows = page.locator("#passenger-rows .passenger")
                for n, (first, last) in enumerate((("Ada", "Lovelace"), ("José", "Núñez"))):
                    rows.nth(n).get_by_label("First name").fill(first)
                    rows.nth(n).get_by_label("Last name").fill(last)
                page.get_by_label("Contact email").fill("ada@example.com")
                page.get_by_role("button", name="Save passengers").click()
                expect(page.locator("#pay-button")).to_be_enabled()
                page.locator("#code").fill("12345")
                page.locator("#pay-button").scroll_into_view_if_needed()  # the side column scrolls on its own
            page.mouse.move(0, 0)
            page.screenshot(path=str(DOCS / f"booking-{name}.png"))
            print(f"wrote docs/booking-{name}.png")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch}/db.sqlite3",
            "REDIS_URL": "",
            "PAYMENT_FAILURE_RATE": "0",
        }
        base, processes = serve(env)
        try:
            others(base)
            photograph(base)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=15)


if __name__ == "__main__":
    main()
