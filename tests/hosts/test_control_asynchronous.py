"""The control: the same scenario on a cluster without synchronous replication loses a booking it answered
CONFIRMED (and measures what synchronous replication costs, for docs/deployment.md)."""

from tests.hosts.acknowledged import booking_through_a_failover, capacity

SYNCHRONOUS = False


def test_control_seat_changes_through_the_load_balancer_without_synchronous_replication(service, figures):
    figures.update(capacity(service))


def test_control_without_synchronous_replication_a_confirmed_booking_is_lost(service, figures):
    outcome = booking_through_a_failover(service)
    figures.update(outcome)
    lost = [order for order, told in outcome["answered_while_replicas_stalled"].items() if told == "CONFIRMED"]
    assert lost, f"the booking made while the replicas were stalled was not answered CONFIRMED: {outcome}"
    assert all(order not in outcome["kept"] for order in lost), outcome
