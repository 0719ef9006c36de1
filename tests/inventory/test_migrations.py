"""SeatHold moved from orders to inventory with its table: a hold written before the move is there after."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("orders", "0004_audit_actions_and_interrupted_outcome"), ("inventory", None)]
AFTER = [("orders", "0005_seathold_moves_to_inventory"), ("inventory", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def test_a_hold_made_before_the_move_is_the_inventorys_after_it(flight):
    old = migrate(BEFORE)
    try:
        Order, SeatHold = old.get_model("orders", "Order"), old.get_model("orders", "SeatHold")
        order = Order.objects.create(id="o-before-the-move", flight_id=flight.pk, token_hash="x" * 64)
        SeatHold.objects.create(order=order, seat_id=flight.seats.get(label="1A").pk, state="HELD")
    finally:
        new = migrate(AFTER)
    try:
        hold = new.get_model("inventory", "SeatHold").objects.get(order_id="o-before-the-move")
        assert (hold.seat.label, hold.state) == ("1A", "HELD")
    finally:  # back to the latest migrations, which the tests after this one expect
        executor = MigrationExecutor(connection)
        migrate(executor.loader.graph.leaf_nodes())
