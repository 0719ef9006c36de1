"""Faults across hosts, with travellers booking and paying through the load balancer and event streams open
(tests/hosts/layout.py): an application host's link cut, Redis cut off from one application host, and the
PostgreSQL primary's host dying. In this order: the last leaves the cluster one host short."""

import time

from tests.hosts import database
from tests.hosts.layout import FLIGHT, FLIGHT_SEATS, STREAMS_PORT, Layout
from tests.hosts.traffic import (
    Client,
    ResumingStream,
    Travellers,
    double_live_holds,
    established,
    flight_event_ids,
    order_states,
    paying,
)
from tests.processes import wait_until

APPLICATION_HOSTS = ("lb", "app1", "app2", "work")


def open_streams(layout: Layout, count: int) -> list[ResumingStream]:
    streams = [ResumingStream(layout.lb, FLIGHT) for _ in range(count)]
    wait_until(lambda: all(s.ids for s in streams), timeout=20, what="every stream's first event")
    return streams


def caught_up(layout: Layout, streams: list[ResumingStream], timeout: float = 30) -> dict:
    """Once every payment settled: each stream received every event of the flight committed since it
    opened, in order, none missed; returns the figures."""
    with layout.connect(autocommit=True) as conn:
        wait_until(lambda: paying(conn) == 0, timeout=60, interval=0.5, what="every payment settled")
        time.sleep(1)
        committed = {id(s): flight_event_ids(conn, FLIGHT, after=s.ids[0]) for s in streams}
    last = max((ids[-1] for ids in committed.values() if ids), default=0)
    wait_until(lambda: all(max(s.ids) >= last for s in streams), timeout=timeout, what="every stream caught up")
    missed = {id(s): sorted(set(committed[id(s)]) - set(s.ids)) for s in streams}
    for stream in streams:
        stream.close()
        assert stream.ids == sorted(set(stream.ids)), "out of order or twice"
    assert not any(missed.values()), missed
    return {"events_checked": sum(len(c) for c in committed.values()), "events_missed": 0,
            "reconnects": [s.reconnects for s in streams]}  # fmt: skip


def assert_answers_honest(client: Client, since: float = 0) -> dict:
    """No 500 from any request, and a 503 always says when to come back; the 5xx counted by code."""
    errors = client.server_errors(since=since)
    assert {a.status for a in errors} <= {503}, [(a.status, a.code, a.method, a.path) for a in errors]
    assert all(a.retry_after for a in errors), "a 503 without Retry-After"
    assert client.statuses(since=since)[0] == 0, "a request got no HTTP answer at all"
    codes: dict[str, int] = {}
    for answer in errors:
        key = f"{answer.status} {answer.code}"
        codes[key] = codes.get(key, 0) + 1
    return codes


def names(hosts) -> set[str]:
    return {host.name for host in hosts}


def assert_still_running(layout: Layout) -> None:
    for name in APPLICATION_HOSTS:
        for process in layout.host(name).processes:
            assert process.poll() is None, f"{name}: {process.args!r} exited ({process.returncode})"


def test_an_application_host_cut_off_is_routed_around_and_its_streams_move(service: Layout, figures):
    streams = open_streams(service, 4)  # nginx alternates: two on each application host
    on_cut_host = established(service.host("app1"), STREAMS_PORT)
    assert on_cut_host >= 1
    client = Client(service.lb)
    travellers = Travellers(client, FLIGHT, FLIGHT_SEATS[:300], count=4)
    travellers.start()
    time.sleep(3)
    cut = time.monotonic()
    service.host("app1").cut()
    try:
        time.sleep(30)  # in-flight requests on app1 end (20 s read timeout, then 503); nginx leaves it out
        routed = time.monotonic()
        time.sleep(8)
        travellers.finish()
        unreached = [a for a in client.server_errors(since=routed) if a.code == "unavailable"]
        assert unreached == [], "requests still sent to the host that is cut off"
        codes = assert_answers_honest(client)
        figures.update(caught_up(service, streams))
        assert sum(figures["reconnects"]) >= on_cut_host, "the cut host's streams moved to the other host"
    finally:
        service.host("app1").restore()
    figures.update(
        statuses_after_cut=dict(client.statuses(since=cut)), server_errors_by_code=codes,
        bookings_confirmed=len(travellers.confirmed),
    )  # fmt: skip
    assert_still_running(service)


def test_redis_cut_off_from_one_application_host_falls_back_to_the_event_table(service: Layout, figures):
    redis = service.host("redis").address
    streams = open_streams(service, 4)
    assert established(service.host("app1"), STREAMS_PORT) >= 1
    client = Client(service.lb)
    travellers = Travellers(client, FLIGHT, FLIGHT_SEATS[300:400], count=4)
    service.host("app1").block(redis)
    try:
        travellers.start()
        time.sleep(15)
        travellers.finish()
        codes = assert_answers_honest(client)
        figures.update(caught_up(service, streams))
    finally:
        service.host("app1").unblock(redis)
    assert travellers.confirmed, "no booking went through"
    fallback = (service.base / "app1-streams.log").read_text()
    assert "redis -> table" in fallback, "app1's streams did not fall back to the event table"
    figures.update(statuses=dict(client.statuses()), server_errors_by_code=codes, bookings=len(travellers.confirmed))
    assert_still_running(service)


def test_the_primary_database_host_dies_under_load_and_no_confirmed_booking_is_lost(service: Layout, figures):
    streams = open_streams(service, 2)
    client = Client(service.lb)
    travellers = Travellers(client, FLIGHT, FLIGHT_SEATS[400:], count=6)
    travellers.start()
    time.sleep(8)
    primary = database.leader(service.db_hosts)
    assert primary, "no primary"
    confirmed_before = dict(travellers.confirmed)
    died = time.monotonic()
    service.host(primary).die()
    survivors = [h for h in service.db_hosts if h.name != primary]
    wait_until(lambda: database.leader(survivors) in names(survivors), timeout=60, interval=0.2, what="a new primary")
    promoted = time.monotonic()

    def booked_after_death():
        return min((t for o, t in travellers.confirmed.items() if travellers.created.get(o, 0) > died), default=None)

    first_booking = wait_until(booked_after_death, timeout=90, interval=0.2, what="a booking made after the death")
    time.sleep(5)
    travellers.finish()
    codes = assert_answers_honest(client)
    with service.connect(autocommit=True) as conn:
        wait_until(lambda: paying(conn) == 0, timeout=60, interval=0.5, what="every payment settled")
        states = order_states(conn, list(travellers.confirmed))
        double_holds = double_live_holds(conn)
    lost = {order: states.get(order) for order in travellers.confirmed if states.get(order) != "CONFIRMED"}
    figures.update(
        synchronous_replication=service.synchronous,
        seconds_to_new_primary=round(promoted - died, 1),
        seconds_to_first_booking=round(first_booking - died, 1),
        server_errors_by_code=codes,
        statuses_during_switch=dict(client.statuses(since=died, until=first_booking)),
        confirmed_before_death=len(confirmed_before),
        confirmed_answered=len(travellers.confirmed),
        confirmed_after_failover=sum(state == "CONFIRMED" for state in states.values()),
    )
    assert not lost, f"answered CONFIRMED, then lost with the primary: {lost}"
    assert double_holds == []
    figures.update(caught_up(service, streams))
    assert_still_running(service)
