"""The OpenAPI description: valid, and covering every endpoint of the contract with its errors."""

import re

import pytest
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

CONTRACT = {
    ("post", "/orders"): {"201", "400", "404", "409"},
    ("post", "/orders/{order_id}/seats"): {"200", "400", "403", "404", "409"},
    ("post", "/orders/{order_id}/payment"): {"202", "400", "403", "404", "409"},
    ("get", "/orders/{order_id}/status"): {"200", "403", "404"},
    ("get", "/orders/{order_id}/events"): {"200", "403", "404"},
    ("post", "/orders/{order_id}/cancel"): {"200", "403", "404", "409"},
    ("get", "/flights"): {"200"},
    ("get", "/flights/{flight_code}"): {"200", "404"},
    ("get", "/flights/{flight_code}/available-seats"): {"200", "404"},
    ("get", "/flights/{flight_code}/events"): {"200", "404"},
    ("post", "/orders/{order_id}/passengers"): {"200", "400", "403", "404", "409", "429"},
    ("post", "/bookings/find"): {"200", "400", "404", "429"},
}


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"}, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


@pytest.mark.parametrize(("method", "path"), sorted(CONTRACT))
def test_every_contract_endpoint_is_described_with_its_errors(schema, method, path):
    operation = schema["paths"][path][method]
    assert set(operation["responses"]) >= CONTRACT[(method, path)]
    for status, response in operation["responses"].items():
        if status.startswith("4"):
            assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), status


def test_every_api_url_is_in_the_schema(schema):
    from django.urls import get_resolver

    api_routes = {
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(p.pattern))
        for p in get_resolver().url_patterns
        if str(p.pattern).startswith(("orders", "flights", "bookings"))
    }
    assert api_routes == set(schema["paths"])


def test_order_endpoints_declare_the_token(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert {"bearerAuth": []} in schema["paths"]["/orders/{order_id}/status"]["get"]["security"]


def test_the_docs_page_is_served(client):
    response = client.get("/api/docs/", HTTP_HOST="127.0.0.1")
    assert response.status_code == 200 and b"swagger-ui" in response.content
    assert b"cdn." not in response.content and b"https://" not in response.content


def test_request_bodies_say_exactly_what_the_server_accepts(schema):
    components = schema["components"]["schemas"]

    def body(op):
        body_schema = op["post"]["requestBody"]["content"]["application/json"]["schema"]
        return components[body_schema["$ref"].rsplit("/", 1)[1]] if "$ref" in body_schema else body_schema

    bodies = {path: body(op) for path, op in schema["paths"].items() if "requestBody" in op.get("post", {})}
    assert set(bodies) == {
        "/orders",
        "/orders/{order_id}/seats",
        "/orders/{order_id}/payment",
        "/orders/{order_id}/passengers",
        "/orders/{order_id}/cancel",
        "/bookings/find",
    }
    chosen, best = bodies.pop("/orders/{order_id}/seats")["oneOf"]  # either the seats, or how many the server picks
    assert all(body["additionalProperties"] is False for body in [*bodies.values(), chosen, best])
    seats = chosen["properties"]["seats"]
    assert seats["items"]["pattern"] == "^[1-9][0-9]?[A-Z]$" and seats["maxItems"] == 9 and seats["uniqueItems"]
    assert chosen["required"] == ["seats"] and best["required"] == ["best"]
    assert (best["properties"]["best"]["minimum"], best["properties"]["best"]["maximum"]) == (1, 9)
    assert bodies["/orders/{order_id}/payment"]["properties"]["code"]["pattern"] == "^[0-9]{5}$"
    assert bodies["/orders"]["properties"]["flightID"]["minLength"] == 1
    key = next(p for p in schema["paths"]["/orders"]["post"]["parameters"] if p["name"] == "Idempotency-Key")
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (16, 255)


def test_every_operation_declares_the_errors_any_request_can_meet(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "503" in operation["responses"], (method, path)
            if "requestBody" in operation:
                assert {"413", "415", "422" if "Idempotency-Key" in str(operation) else "413"} <= set(
                    operation["responses"]
                ), (method, path)


def test_the_keys_and_calls_of_fares_passengers_and_find_my_booking_are_described(schema):
    components = schema["components"]["schemas"]
    status = components["Status"]["properties"]
    assert {"Total", "Currency", "Reference", "Passengers", "ContactEmail"} <= set(status)
    detail = schema["paths"]["/flights/{flight_code}"]["get"]["responses"]["200"]["content"]["application/json"]
    flight = components[detail["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
    assert {"currency", "zones", "seats"} <= set(flight)
    passengers = schema["paths"]["/orders/{order_id}/passengers"]["post"]["requestBody"]["content"]
    passenger = passengers["application/json"]["schema"]["properties"]["passengers"]["items"]
    assert passenger["properties"]["lastName"]["pattern"].startswith("^ *[A-Za-z")  # spaces around are trimmed
    assert passenger["additionalProperties"] is False  # nested in the body, closed like it
    find = components["FindBookingBodyRequest"]["properties"]
    # any case and spaces, as the page takes it
    assert (
        find["reference"]["pattern"] == "^ *(?:[ABCDEFGHJKMNPQRSTUVWXYZ23456789abcdefghjkmnpqrstuvwxyz23456789] *){6}$"
    )
    assert schema["paths"]["/bookings/find"]["post"].get("security", []) == []  # no token: that is what it gives


def test_a_paid_bookings_change_and_refund_are_described(schema):
    status = schema["components"]["schemas"]["Status"]["properties"]
    assert {"Change", "Refund"} <= set(status)
    seats = schema["paths"]["/orders/{order_id}/seats"]["post"]["requestBody"]["content"]["application/json"]
    chosen = next(v for v in seats["schema"]["oneOf"] if "seats" in v["properties"])
    assert "code" in chosen["properties"]
    cancel = schema["paths"]["/orders/{order_id}/cancel"]["post"]
    assert cancel["requestBody"]["required"] is False  # without a body: every seat, as before
    assert "x-body-optional" not in cancel
