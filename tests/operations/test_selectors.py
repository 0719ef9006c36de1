"""The dashboard's figures agree with the tables, and each costs one statement whatever the traffic."""

import datetime as dt

import pytest
from django.utils import timezone

from inventory.selectors import flight_seats, seat_availability
from operations import selectors
from orders import queue
from tests.operations.burst import run_burst

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_worker(monkeypatch):
    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)  # the burst settles payments itself


def test_flight_seats_agree_with_the_seat_map(flight, django_assert_num_queries):
    burst = run_burst(flight.code)
    now = timezone.now()
    with django_assert_num_queries(1):
        (shown,) = flight_seats(now=now)
    availability = seat_availability(flight=flight, now=now)
    assert (shown.code, shown.total) == (flight.code, 30)
    assert (shown.held, shown.booked, shown.available) == (
        len(availability.held),
        len(availability.confirmed),
        len(availability.available),
    )
    assert (shown.held, shown.booked) == (burst.held, burst.booked) == (6, 3)


def test_a_hold_past_its_deadline_is_not_counted_before_any_sweep(flight):
    run_burst(flight.code, background=True)
    (shown,) = flight_seats(now=timezone.now())
    # 6 held and 3 held while their payment runs (no worker here); the 4 lapsed seats are free already
    assert (shown.held, shown.booked, shown.available) == (9, 0, 21)


def test_holds_per_minute(flight, django_assert_num_queries):
    run_burst(flight.code)
    now = timezone.now()
    with django_assert_num_queries(1):
        series = selectors.holds_per_minute(now=now)
    totals = {name: sum(values.values()) for name, values in series.items()}
    # 13 seats held: 4 expired, 3 booked, 6 still held
    assert totals == {"made": 13, "released": 0, "expired": 4, "confirmed": 3}
    assert all(selectors.window_start(now) <= m <= now for values in series.values() for m in values)
    later = selectors.holds_per_minute(now=now + dt.timedelta(minutes=61))
    assert all(not values for values in later.values())  # the hour is a window: older minutes drop out


def test_attempts_per_minute(flight, django_assert_num_queries):
    run_burst(flight.code)
    with django_assert_num_queries(1):
        series = selectors.attempts_per_minute(now=timezone.now())
    totals = {name: sum(values.values()) for name, values in series.items() if values}
    assert totals == {"success": 2, "declined": 1}


def test_expiry_lateness(flight, django_assert_num_queries):
    run_burst(flight.code)
    with django_assert_num_queries(1):
        hour, per_minute = selectors.expiry_lateness(now=timezone.now())
    assert hour.count == 2 and hour.max == pytest.approx(3.0)
    assert hour.p50 is not None and hour.p99 is not None
    assert 2 <= hour.p50 <= hour.p99 <= 3.0  # in the 2-5 s bucket, never above the exact max
    assert sum(m.count for m in per_minute.values()) == 2


def test_quantiles_follow_prometheus_and_stay_under_the_max():
    # buckets 0.1, 0.25, 0.5, 1, 2, 5, 10, 30 (cumulative): 100 expiries, 98 under 0.1 s, 2 in 1-2 s
    buckets = (98, 98, 98, 98, 100, 100, 100, 100)
    assert selectors.quantile(0.5, buckets, 100, 1.5) == pytest.approx(0.1 * 50 / 98)
    assert selectors.quantile(0.99, buckets, 100, 1.5) == pytest.approx(1.5)  # 1.5 s interpolated, capped at max
    assert selectors.quantile(0.99, buckets, 100, 1.9) == pytest.approx(1.5)
    assert selectors.quantile(0.5, (0,) * 8, 0, 0) is None
    assert selectors.quantile(0.99, (0,) * 8, 3, 42.0) == 42.0  # every one past the last bucket


def test_heartbeats(django_assert_num_queries):
    from core import health

    health.beat("timers")
    with django_assert_num_queries(1):
        beats = {b.name: b for b in selectors.heartbeats(now=timezone.now())}
    assert beats["timers"].ok and (beats["timers"].age_seconds or 99) < 5
    assert not beats["worker"].ok and beats["worker"].age_seconds is None
