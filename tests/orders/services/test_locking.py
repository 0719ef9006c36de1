"""The lock timeout (docs/locking.md, rule 5): a change never waits for ever behind another transaction."""

import threading
import time

import psycopg
import pytest

from tests.conftest import bearer
from tests.processes import test_database_url as database_url

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_a_change_blocked_by_another_transaction_is_refused_as_busy_after_the_lock_timeout(api, new_order, settings):
    order_id, token = new_order()
    answers: list = []
    with psycopg.connect(database_url()) as blocker:  # another transaction holds the order's row lock
        blocker.execute("SELECT 1 FROM orders_order WHERE id = %s FOR UPDATE", [order_id])
        started = time.monotonic()
        request = threading.Thread(
            target=lambda: answers.append(
                api.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, format="json", **bearer(token))
            )
        )
        request.start()
        request.join(timeout=settings.DB_LOCK_TIMEOUT_SECONDS + 10)
        waited = time.monotonic() - started
        assert not request.is_alive(), "the request is still waiting for the lock"
        blocker.rollback()
    response = answers[0]
    assert response.status_code == 503 and response.json()["code"] == "busy", response.content
    assert response["Retry-After"] == "1"
    assert settings.DB_LOCK_TIMEOUT_SECONDS - 0.5 <= waited <= settings.DB_LOCK_TIMEOUT_SECONDS + 3
    again = api.post(f"/orders/{order_id}/seats", {"seats": ["1A"]}, format="json", **bearer(token))
    assert again.status_code == 200  # nothing was half-done: the same request works once the lock is free
