"""With no cabin zone asked for, best available takes its seats from the cheapest zone where they sit
together (inventory/best_seats.py choose_in_cheapest_zone), on seat maps drawn as text."""

from inventory.best_seats import Layout, choose_in_cheapest_zone, spread
from tests.inventory.test_best_seats import free_from

CABIN = Layout(rows=4, letters="ABCDEF", aisles_after="C")  # ABC | DEF
FRONT, BACK = {1, 2}, {3, 4}


def test_a_pair_side_by_side_comes_from_the_cheapest_zone_not_the_front_row():
    free = free_from("""
        ... ...
        ... ...
        ... ...
        ... ...""")
    assert choose_in_cheapest_zone(CABIN, free, 2, [BACK, FRONT]) == ["3A", "3B"]
    assert choose_in_cheapest_zone(CABIN, free, 2, [FRONT, BACK]) == ["1A", "1B"]


def test_side_by_side_in_a_dearer_zone_before_apart_in_the_cheapest():
    free = free_from("""
        ... ...
        ... ...
        .x. x.x
        x.x .x.""")
    assert choose_in_cheapest_zone(CABIN, free, 2, [BACK, FRONT]) == ["1A", "1B"]


def test_a_group_too_big_for_a_row_is_the_tightest_group_then_the_cheapest_zone():
    free = free_from("""
        ... ...
        ... ...
        ... ...
        ... ...""")
    assert choose_in_cheapest_zone(CABIN, free, 4, [BACK, FRONT]) == ["3A", "3B", "4A", "4B"]


def test_when_no_zone_has_enough_free_seats_the_whole_cabin_is_searched():
    free = free_from("""
        xxx xx.
        xxx xx.
        xxx xx.
        xxx xx.""")
    assert choose_in_cheapest_zone(CABIN, free, 3, [BACK, FRONT]) == ["1F", "2F", "3F"]
    assert choose_in_cheapest_zone(CABIN, free, 5, [BACK, FRONT]) == []


def test_spread_is_zero_only_for_seats_side_by_side_in_one_block():
    assert spread(CABIN, ["2B", "2C"]) == 0
    assert spread(CABIN, ["2C", "2D"]) == 3  # across the aisle
    assert spread(CABIN, ["2A", "3A"]) == 1 + 2
