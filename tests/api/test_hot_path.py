"""The lean path of the hot calls (orders/hot_path.py): taken only by the requests it is for, and
answering exactly as DRF's views do (same status, body and headers), refusals, errors and throttling
included. Requests go through the web processes' own WSGI application, as granian and uvicorn call it."""

import pytest
from django.core.cache import cache

from orders import services
from orders.api import OrderStatusView, SelectSeatsView
from orders.models import Order, OrderState
from tests.api.conftest import Answer


@pytest.fixture
def orders(flight):
    made = [services.create_order(flight_code=flight.code, actor="test") for _ in range(2)]
    return [(order.pk, token) for order, token in made]


def both_ways(call, method, path, body=None, **kwargs) -> tuple[Answer, Answer]:
    """The same request by the lean path, then by the full one (a cookie sends it there)."""
    return call(method, path, body, **kwargs), call(method, path, body, Cookie="unrelated=1", **kwargs)


@pytest.mark.django_db(transaction=True)
def test_the_lean_path_answers_as_drfs_views(call, orders):
    (mine, token), (other, other_token) = orders
    cases = [
        ("POST", f"/orders/{mine}/seats", {"seats": ["1A", "1B"]}, token),  # the same selection twice: 200
        ("POST", f"/orders/{mine}/seats", {"seats": []}, token),  # all released
        ("GET", f"/orders/{mine}/status", None, token),
        ("POST", f"/orders/{mine}/seats", {"seats": ["9Z"]}, token),  # no such seat: 400 from the service
        ("POST", f"/orders/{mine}/seats", {"seats": ["1A", "1A"]}, token),  # repeated: 400
        ("POST", f"/orders/{mine}/seats", {"seats": ["1A"]}, other_token),  # wrong token: 403
        ("GET", f"/orders/{mine}/status", None, other_token),
        ("POST", "/orders/nobody/seats", {"seats": ["1A"]}, token),  # 404
        ("GET", "/orders/nobody/status", None, token),
        ("POST", f"/orders/{mine}/seats", {"seats": "1A"}, token),  # not a list: DRF's own 400
        ("POST", f"/orders/{mine}/seats", {"seat": ["1A"]}, token),  # unknown key
        ("POST", f"/orders/{mine}/seats", {"seats": ["1a"]}, token),  # bad label
        ("POST", f"/orders/{mine}/seats", {"best": 1}, token),  # best available: DRF's view
        ("POST", f"/orders/{mine}/seats", {"seats": ["1A\n"]}, token),  # not a label: 400 (was a 500 on both)
        ("POST", f"/orders/{mine}/seats", {"seats": [f"{row}A" for row in range(1, 12)]}, token),  # too many: 400
        ("POST", "/orders/nobody/seats", {"seats": ["1A", "1A"]}, token),  # 404 before the body's 400
    ]
    seen = set()
    for method, path, body, key in cases:
        lean, full = both_ways(call, method, path, body, token=key)
        assert lean.comparable() == full.comparable(), (method, path, body)
        seen.add(lean.status)
    call("POST", f"/orders/{other}/seats", {"seats": ["2A"]}, token=other_token)
    lean, full = both_ways(call, "POST", f"/orders/{mine}/seats", {"seats": ["2A"]}, token=token)  # taken: 409
    assert lean.comparable() == full.comparable()
    assert lean.body["seats"] == ["2A"]
    seen.add(lean.status)
    # The token is checked before the seats, though both are read in one statement: no seat's fate for a stranger.
    lean, full = both_ways(call, "POST", f"/orders/{mine}/seats", {"seats": ["2A"]}, token=other_token)
    assert lean.comparable() == full.comparable() and lean.status == 403
    # A taken seat beside one the flight has not: the unknown seat's 400 on both paths.
    lean, full = both_ways(call, "POST", f"/orders/{mine}/seats", {"seats": ["2A", "9Z"]}, token=token)
    assert lean.comparable() == full.comparable() and lean.status == 400
    # An order that can no longer change seats asks for a taken one: its state's 409, not seats_taken.
    Order.objects.filter(pk=mine).update(state=OrderState.EXPIRED)
    lean, full = both_ways(call, "POST", f"/orders/{mine}/seats", {"seats": ["2A"]}, token=token)
    assert lean.comparable() == full.comparable() and lean.body["code"] == "hold_expired"
    assert {200, 400, 403, 404, 409} <= seen


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("accept", "query", "status"),
    [
        ("application/xml", "", 406),
        ("text/plain", "", 406),
        ("text/*", "", 200),  # the browsable API
        ("TEXT/HTML", "", 200),
        ("application/json; indent=2", "", 200),
        ("*/*", "format=api", 200),
        ("*/*", "format=xml", 404),
        ("application/json;q=0.9, */*;q=0.1", "", 200),
    ],
)
def test_what_drf_would_negotiate_otherwise_is_drfs(call, orders, accept, query, status):
    (mine, token), _ = orders
    requests: list[tuple[str, str, dict | None]] = [
        ("GET", f"/orders/{mine}/status", None),
        ("POST", f"/orders/{mine}/seats", {"seats": []}),
    ]
    for method, path, body in requests:
        target = f"{path}?{query}" if query else path
        lean, full = both_ways(call, method, target, body, token=token, Accept=accept)
        assert lean.status == status and lean.comparable() == full.comparable(), (method, accept, query)
        assert (b"\n  " in lean.content) == (b"\n  " in full.content)  # indent=2 is honoured, or not, alike


@pytest.mark.django_db(transaction=True)
def test_bodies_that_are_not_plain_json_get_drfs_answers(call, orders):
    (mine, token), _ = orders
    for raw, content_type, status in [
        (b'{"seats": [', "application/json", 400),
        (b"seats=1A", "application/x-www-form-urlencoded", 415),
        (b'{"seats": ["1A"]}', "text/plain", 200),  # read as JSON, as the original read every body
        (b'[["1A"]]', "application/json", 400),
        (b'\xef\xbb\xbf{"seats": ["1A"]}', "application/json", 400),  # a UTF-8 byte-order mark
        ('{"seats": ["1A"]}'.encode("utf-16"), "application/json", 400),
        (b'{"seats": ["1A"]}', "application/json; charset=utf-16", 400),
    ]:
        lean = call("POST", f"/orders/{mine}/seats", raw=raw, token=token, content_type=content_type)
        full = call("POST", f"/orders/{mine}/seats", raw=raw, token=token, content_type=content_type, Cookie="a=1")
        assert lean.status == status and lean.comparable() == full.comparable(), raw


@pytest.fixture
def drf_views_answer_418(monkeypatch):
    """DRF's views replaced by a teapot: whatever still works did not go through them."""
    from rest_framework.response import Response

    for view in (SelectSeatsView, OrderStatusView):
        for method in ("get", "post"):
            if hasattr(view, method):
                monkeypatch.setattr(view, method, lambda self, request, order_id: Response({}, status=418))


@pytest.mark.django_db(transaction=True)
def test_only_the_hot_calls_of_api_clients_skip_drf(call, orders, drf_views_answer_418):
    (mine, token), _ = orders
    assert call("POST", f"/orders/{mine}/seats", {"seats": ["1A"]}, token=token).status == 200
    assert call("GET", f"/orders/{mine}/status", token=token).status == 200
    assert call("POST", f"/orders/{mine}/seats", {"seats": ["1A"]}, token=token, Cookie="a=1").status == 418
    assert call("GET", f"/orders/{mine}/status", token=token, Accept="text/html").status == 418  # browsable API
    assert call("GET", f"/orders/{mine}/status?token={token}").status == 418  # no bearer header
    assert call("POST", f"/orders/{mine}/seats", {"best": 2}, token=token).status == 418
    assert call("POST", f"/orders/{mine}/seats", {"seats": ["1a"]}, token=token).status == 418
    assert call("POST", f"/orders/{mine}/seats", {"seats": ["1A", "1A"]}, token=token).status == 418
    too_many = [f"{row}B" for row in range(1, 12)]  # more than MAX_SEATS_PER_ORDER (9)
    assert call("POST", f"/orders/{mine}/seats", {"seats": too_many}, token=token).status == 418
    assert call("GET", f"/orders/{mine}/status?format=json", token=token).status == 418
    assert call("GET", f"/orders/{mine}/status", token=token, Accept="application/xml").status == 406  # DRF's
    assert call("GET", f"/orders/{mine}/status", token=token, Accept="application/json; indent=2").status == 418
    assert call("GET", f"/orders/{mine}/status", token=token, Accept="application/json, */*").status == 200
    utf16 = '{"seats": ["1A"]}'.encode("utf-16")
    assert call("POST", f"/orders/{mine}/seats", raw=utf16, token=token).status == 418
    assert (
        call(
            "POST",
            f"/orders/{mine}/seats",
            {"seats": ["1A"]},
            token=token,
            content_type="application/json; charset=utf-8",
        ).status
        == 200
    )


@pytest.mark.django_db(transaction=True)
def test_the_lean_path_keeps_the_throttle(call, orders, settings):
    (mine, token), _ = orders
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "change_seats": "2/min"}
    cache.clear()  # the requests of the tests before, from the same address
    answers = [call("POST", f"/orders/{mine}/seats", {"seats": ["1A"]}, token=token) for _ in range(3)]
    assert [a.status for a in answers] == [200, 200, 429]
    assert answers[2].body["code"] == "throttled" and int(answers[2].headers["Retry-After"]) > 0
