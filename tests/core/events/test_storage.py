"""The event table under the streams: per-channel ids in order, and batches that cost the same whatever their size."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_eventstream import models as es_models
from django_eventstream.utils import get_storage

from core.events.publishing import publish, publish_many
from orders import services


def stored(channel: str) -> list[tuple[int, str]]:
    return list(es_models.Event.objects.filter(channel=channel, eid__gt=0).order_by("eid").values_list("eid", "data"))


def test_a_batch_numbers_each_channel_in_order_after_its_last_event(db):
    publish("chan-a", "t", {"n": 0})
    publish_many(
        [
            ("chan-a", "t", {"n": 1}),
            ("chan-b", "t", {"n": 1}),
            ("chan-a", "t", {"n": 2}),
            ("chan-b", "t", {"n": 2}),
            ("chan-a", "t", {"n": 3}),
        ]
    )
    assert stored("chan-a") == [(1, '{"n":0}'), (2, '{"n":1}'), (3, '{"n":2}'), (4, '{"n":3}')]
    assert stored("chan-b") == [(1, '{"n":1}'), (2, '{"n":2}')]
    storage = get_storage()
    assert storage.get_current_id("chan-a") == 4 and storage.get_current_id("chan-b") == 2
    assert [e.id for e in storage.get_events("chan-a", 2)] == [3, 4]


def test_append_events_returns_the_ids_it_stored(db):
    publish("chan-c", "t", {})
    events = get_storage().append_events([("chan-c", "x", "1"), ("chan-d", "y", "2"), ("chan-c", "z", "3")])
    assert [(e.channel, e.type, e.data, e.id) for e in events] == [
        ("chan-c", "x", "1", 2),
        ("chan-d", "y", "2", 1),
        ("chan-c", "z", "3", 3),
    ]


@pytest.mark.postgres_only
def test_expiring_a_batch_costs_the_same_statements_for_3_orders_as_for_30(flight, settings):
    def expire_batch(size: int) -> int:
        now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        for i in range(size):
            order, _ = services.create_order(flight_code=flight.code, actor="test")
            services.select_seats(
                order_id=order.pk,
                labels=[f"{1 + i // 6}{'ABCDEF'[i % 6]}"],
                actor="test",
                now=now - dt.timedelta(hours=1),
            )
        with CaptureQueriesContext(connection) as queries:
            assert len(services.expire_lapsed_holds(now=now)) == size
        return len(queries)

    settings.HOLD_EXTENSION_CAP_SECONDS = 10**9
    assert expire_batch(3) == expire_batch(30)


def test_an_empty_batch_stores_nothing(db):
    assert get_storage().append_events([]) == []
    publish_many([])
    assert not es_models.Event.objects.exists()


def test_new_channels_in_a_batch_start_at_one(db):
    events = get_storage().append_events([("new-y", "t", "1"), ("new-x", "t", "2"), ("new-y", "t", "3")])
    assert [(e.channel, e.id) for e in events] == [("new-y", 1), ("new-x", 1), ("new-y", 2)]
    assert stored("new-y") == [(1, "1"), (2, "3")]


@pytest.mark.postgres_only
def test_a_counters_updated_time_moves_once_a_minute_so_that_its_bumps_are_updates_in_place(db):
    """A counter's `updated` is indexed: bumping `value` alone lets PostgreSQL update the row in place
    (HOT), with no new index entries, and a busy flight's counter is bumped by every change on it."""
    counter = es_models.EventCounter.objects
    publish("chan-e", "t", {})
    first = counter.get(name="chan-e").updated
    publish("chan-e", "t", {})
    assert counter.get(name="chan-e").updated == first and counter.get(name="chan-e").value == 2
    counter.filter(name="chan-e").update(updated=first - dt.timedelta(seconds=61))
    publish("chan-e", "t", {})
    assert counter.get(name="chan-e").updated > first and counter.get(name="chan-e").value == 3
