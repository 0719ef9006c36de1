"""What the hoarding tests share: the two clients' addresses, the default limits, and their calls."""

from django.test import Client

from inventory.models import HoldState, SeatHold
from orders.models import Order
from tests.conftest import bearer
from tests.security.doors import lean_call

HOARDER, BUYER = "203.0.113.66", "198.51.100.7"
HOLD_LIMIT, ORDERS_LIMIT = 18, 8


def held_from(address: str) -> int:
    """Seats held by the orders created from `address` (the audit trail's actor names it)."""
    orders = Order.objects.filter(audit_entries__action="create", audit_entries__actor__endswith=f"@{address}")
    return SeatHold.objects.filter(order_id__in=orders.values("pk"), state=HoldState.HELD).count()


def api_client(address: str, **extra) -> Client:
    return Client(REMOTE_ADDR=address, **extra)


def create(client: Client, flight_code: str, **extra):
    return client.post("/orders", {"flightID": flight_code}, content_type="application/json", **extra)


def best(client: Client, order_id: str, token: str | None, count: int = 9, **extra):
    headers = bearer(token) if token else {}
    return client.post(
        f"/orders/{order_id}/seats", {"best": count}, content_type="application/json", **headers, **extra
    )


def assert_refused(answer, code: str) -> dict:
    assert answer.status_code == 429, answer.content
    body = answer.json()
    assert body["code"] == code, body
    assert int(answer["Retry-After"]) >= 1
    return body


# --- DRF: best seats, with and without a session ------------------------------------------------------


def lean(method: str, path: str, body: dict, *, token: str, address: str) -> tuple[int, dict, dict]:
    """A call through the web processes' WSGI application (the lean path), from `address`."""
    answer = lean_call(method, path, body, token=token, address=address)
    return answer.status_code, answer.headers, answer.json()
