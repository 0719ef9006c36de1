"""Choosing the best available seats (inventory/best_seats.py), on seat maps drawn as text."""

import pytest

from inventory.best_seats import Layout, choose_best

CABIN = Layout(rows=4, letters="ABCDEF", aisles_after="C")  # ABC | DEF


def free_from(picture: str) -> set[str]:
    """Rows of "ABC DEF" pictures: '.' free, 'x' taken; the aisle is the space."""
    free = set()
    for row, line in enumerate(picture.strip().splitlines(), 1):
        for letter, mark in zip("ABCDEF", line.replace(" ", ""), strict=True):
            if mark == ".":
                free.add(f"{row}{letter}")
    return free


def test_adjacent_seats_in_one_row_without_crossing_the_aisle():
    free = free_from("""
        x.x ...
        ... ...
        ... ...
        ... ...""")
    assert choose_best(CABIN, free, 3) == ["1D", "1E", "1F"]
    assert choose_best(CABIN, free, 2) == ["1D", "1E"]  # every pair in a block of three strands one: the first


def test_never_strands_a_single_seat_when_another_choice_avoids_it():
    free = free_from("""
        x.. ...
        ... ...
        ... ...
        ... ...""")
    # 1B+1C fill the gap beside the taken 1A exactly; any pair of 1D-1F would leave one seat alone.
    assert choose_best(CABIN, free, 2) == ["1B", "1C"]
    free = free_from("""
        x.. .x.
        x.x x.x
        ... ...
        ... ...""")
    # Row 1: 1B+1C fill a gap exactly (1D and 1F are single seats already, not made by this choice).
    assert choose_best(CABIN, free, 2) == ["1B", "1C"]
    free = free_from("""
        ... xxx
        xxx xxx
        xxx xxx
        xxx xxx""")
    # Two of three: one is always left over; flush with the block's end rather than in the middle.
    assert choose_best(CABIN, free, 2) == ["1A", "1B"]


def test_a_choice_that_strands_a_seat_is_taken_only_when_every_choice_does():
    wide = Layout(rows=1, letters="ABCDEF", aisles_after="")  # one block of six
    free = {"1B", "1C", "1D", "1E", "1F"}  # 1A taken
    assert choose_best(wide, free, 2) == ["1B", "1C"]  # flush with 1A; 1D-1F stay together
    assert choose_best(wide, free, 4) == ["1B", "1C", "1D", "1E"]  # every four strand one: the left-most
    free = {"1B", "1C", "1D", "1F"}  # 1A and 1E taken: any pair strands one seat, so flush with 1A wins
    assert choose_best(wide, free, 2) == ["1B", "1C"]
    free = {"1A", "1B", "1C", "1E", "1F"}  # 1D taken: 1E+1F fill a gap exactly, 1A+1B would strand 1C
    assert choose_best(wide, free, 2) == ["1E", "1F"]


def test_when_no_row_block_has_room_the_closest_group_across_rows():
    free = free_from("""
        ... ...
        ... ...
        ... ...
        ... ...""")
    assert choose_best(CABIN, free, 4) == ["1A", "1B", "2A", "2B"]
    assert choose_best(CABIN, free, 6) == ["1A", "1B", "1C", "2A", "2B", "2C"]
    scattered = free_from("""
        x.x x.x
        xxx xxx
        x.x xxx
        xxx x.x""")
    assert sorted(choose_best(CABIN, scattered, 2)) == ["1B", "1E"]  # one row, across the aisle
    assert sorted(choose_best(CABIN, scattered, 3)) == ["1B", "1E", "3B"]


def test_within_the_rows_of_a_zone_and_nothing_when_too_few_are_free():
    free = free_from("""
        ... ...
        ... ...
        ... ...
        ... ...""")
    assert choose_best(CABIN, free, 2, rows={3, 4}) == ["3A", "3B"]
    assert choose_best(CABIN, free, 25, rows=None) == []
    assert choose_best(CABIN, free, 7, rows={4}) == []


@pytest.mark.parametrize("count", range(1, 10))
def test_a_large_cabin_is_quick_and_gives_count_distinct_free_seats(count):
    import random
    import time

    layout = Layout(rows=99, letters="ABCDEFGHIJKLMNOPQRSTUVWXYZ", aisles_after="CFIMPW")
    rng = random.Random(count)
    every = {f"{r}{letter}" for r in range(1, 100) for letter in layout.letters}
    for free in (every, {s for s in every if rng.random() < 0.1}):
        started = time.perf_counter()
        chosen = choose_best(layout, free, count)
        assert len(set(chosen)) == count and set(chosen) <= free
        assert time.perf_counter() - started < 0.5
