"""No booking the service answered is lost when the primary dies, even one made while no replica kept up
(tests/hosts/acknowledged.py). `make test-hosts HOSTS_SYNCHRONOUS_REPLICATION=off` makes this fail."""

from tests.hosts.acknowledged import booking_through_a_failover, capacity


def test_seat_changes_through_the_load_balancer(service, figures):
    figures.update(capacity(service))


def test_a_booking_made_while_no_replica_keeps_up_is_never_answered_then_lost(service, figures):
    outcome = booking_through_a_failover(service)
    figures.update(outcome)
    lost = {order: told for order, told in outcome["told"].items() if order not in outcome["kept"]}
    assert not lost, f"answered, then lost with the primary: {lost}"
    confirmed = [order for order, told in outcome["told"].items() if told == "CONFIRMED"]
    assert all(outcome["kept"][order] == "CONFIRMED" for order in confirmed), outcome
    # What kept it: while no standby had the changes, the service answered 503, never a success of a write.
    assert "CONFIRMED" not in outcome["answered_while_replicas_stalled"].values(), outcome
    assert 503 in outcome["statuses_while_stalled"], outcome
