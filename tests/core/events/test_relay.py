"""The relay that hands stored events to this process's streams (core/events/delivery.py): a poll hands
out every new row once, however many arrived, and still finds a row that committed after later ones."""

import json

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_eventstream.utils import get_storage

from core.events.delivery import EventRelay


def batch_reads(queries) -> int:
    return sum(1 for q in queries.captured_queries if "django_eventstream_event" in q["sql"] and "LIMIT" in q["sql"])


def test_a_poll_hands_out_every_new_row_once_in_a_few_batches(db):
    relay = EventRelay()
    relay.poll()  # its starting point: now
    get_storage().append_events([(f"chan-{i % 7}", "t", str(i)) for i in range(2_500)])
    with CaptureQueriesContext(connection) as queries:
        sent = relay.poll()
    # 2,500 rows in the look-back window: before, each batch read the window's first 1,000 rows again
    # (20 times), and the rest waited until they were out of the window
    assert sent == 2_500
    assert batch_reads(queries) == 3
    assert relay.poll() == 0


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_that_commits_after_later_ones_is_still_handed_out(settings):
    dsn = connection.get_connection_params()
    url_params = {key: dsn[key] for key in ("host", "port", "user", "dbname") if key in dsn}
    relay = EventRelay()
    relay.poll()
    relay.poll()
    # As if the relay had polled for a while: its look-back is now bounded by the ids of 3.5 s ago.
    relay.polls = type(relay.polls)((when - 3.5, last) for when, last in relay.polls)
    insert = "INSERT INTO django_eventstream_event (channel, type, data, eid, created) VALUES (%s, 't', '', 1, now())"
    with psycopg.connect(**url_params) as slow, psycopg.connect(**url_params, autocommit=True) as quick:
        slow.execute(insert, ["late"])  # its id comes first, its commit last
        quick.execute(insert, ["early"])
        assert relay.poll() == 1
        assert relay.delivered.keys() == {"early"}
        slow.commit()
    assert relay.poll() == 1
    assert relay.delivered.keys() == {"early", "late"}


def test_delivery_reads_this_releases_messages_and_the_previous_ones(caplog):
    """During a rolling deploy, processes of the previous release still publish one event per message."""
    from core.events.delivery import EventDelivery

    relay = EventRelay()
    EventDelivery._deliver(
        relay, json.dumps({"events": [["chan-a", "status", "{}", 4], ["chan-b", "t", "{}", 9]]}).encode()
    )
    EventDelivery._deliver(
        relay, json.dumps({"channel": "chan-c", "event_type": "status", "data": "{}", "pub_id": "7"}).encode()
    )
    assert {channel: eid for channel, (eid, _) in relay.delivered.items()} == {"chan-a": 4, "chan-b": 9, "chan-c": 7}
    EventDelivery._deliver(relay, b"not json")  # skipped and said, not an outage of the subscription
    EventDelivery._deliver(relay, json.dumps({"events": [["too", "short"]]}).encode())
    assert caplog.text.count("a message it cannot read") == 2
