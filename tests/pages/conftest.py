"""The browser tests' fixtures, shared with tests/orders/test_views_browser.py: headless Chromium (Debian's)
driven by Playwright against a real uvicorn process with the worker and timer loop."""

from tests.orders.test_views_browser import browser, site  # noqa: F401  (fixtures)
