"""Best available seats: which N free seats to give a party that asks the server to choose.

In order of preference:
1. N adjacent seats in one row, within one block (no aisle between them); among those, a choice that
   leaves no single free seat stranded in that block (between taken seats, or a taken seat and the
   block's end) before one that does, then one flush with a taken seat or the block's end, then the
   front-most row and the left-most seat;
2. else the closest group: the N free seats closest together, measured as the width they span across
   the cabin (an aisle counts as a seat) plus two for each row further back, the fewest rows first,
   then the front-most and left-most.
With no cabin zone asked for (`choose_in_cheapest_zone`), the seats come from one zone: the tightest
choice any zone offers (side by side before any group), from the cheapest zone among equally tight ones;
only when no zone has N free seats, from the whole cabin as above.
Pure: the caller reads the free seats (under the order's lock) and holds the choice all or nothing.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    rows: int
    letters: str
    aisles_after: str

    def blocks(self) -> list[str]:
        """The row's letters split at the aisles, e.g. ["ABC", "DEF"]."""
        blocks, current = [], ""
        for letter in self.letters:
            current += letter
            if letter in self.aisles_after:
                blocks.append(current)
                current = ""
        return [*blocks, current] if current else blocks

    def columns(self) -> dict[str, int]:
        """Each letter's position across the cabin, an aisle counting as one position."""
        positions, at = {}, 0
        for letter in self.letters:
            positions[letter] = at
            at += 2 if letter in self.aisles_after else 1
        return positions


def choose_best(layout: Layout, free: Collection[str], count: int, rows: Collection[int] | None = None) -> list[str]:
    """The best `count` seats among `free` (labels), within `rows` if given; [] if fewer are free."""
    free_set = {label for label in free if rows is None or int(label[:-1]) in rows}
    if len(free_set) < count or count < 1:
        return []
    return _adjacent(layout, free_set, count) or _closest_group(layout, free_set, count)


def choose_in_cheapest_zone(
    layout: Layout, free: Collection[str], count: int, zones: Sequence[Collection[int]]
) -> list[str]:
    """The best `count` seats among `free` within one of `zones` (each zone's rows, cheapest zone first):
    the tightest group (`spread`) any zone offers, the cheapest zone's among equally tight; [] if fewer are
    free. Only when no single zone has `count` free seats, the best across the whole cabin."""
    offers = []
    for rank, rows in enumerate(zones):
        chosen = choose_best(layout, free, count, rows=rows)
        if chosen:
            offers.append((spread(layout, chosen), rank, chosen))
    if offers:
        return min(offers, key=lambda offer: offer[:2])[2]
    return choose_best(layout, free, count)


def spread(layout: Layout, labels: Collection[str]) -> int:
    """How far apart the seats are: 0 when side by side in one row and block, else the closest group's
    measure (the width spanned across the cabin plus ROW_WEIGHT for each row further back)."""
    columns = layout.columns()
    rows = [int(label[:-1]) for label in labels]
    places = sorted(columns[label[-1]] for label in labels)
    side_by_side = len(set(rows)) == 1 and any(
        "".join(sorted((label[-1] for label in labels), key=columns.__getitem__)) in block for block in layout.blocks()
    )
    if side_by_side:
        return 0
    return places[-1] - places[0] + 1 + ROW_WEIGHT * (max(rows) - min(rows))


def _adjacent(layout: Layout, free: set[str], count: int) -> list[str]:
    best: tuple | None = None
    choice: list[str] = []
    for row in range(1, layout.rows + 1):
        for block in layout.blocks():
            is_free = [f"{row}{letter}" in free for letter in block]
            for start in range(len(block) - count + 1):
                if not all(is_free[start : start + count]):
                    continue
                key = (_strands(is_free, start, count), not _flush(is_free, start, count), row, start)
                if best is None or key < best:
                    best, choice = key, [f"{row}{letter}" for letter in block[start : start + count]]
    return choice


def _run_around(is_free: list[bool], start: int, count: int) -> tuple[int, int]:
    """The free seats left of and right of the window, up to a taken seat or the block's end."""
    left = 0
    while start - left - 1 >= 0 and is_free[start - left - 1]:
        left += 1
    right, end = 0, start + count
    while end + right < len(is_free) and is_free[end + right]:
        right += 1
    return left, right


def _strands(is_free: list[bool], start: int, count: int) -> int:
    """How many single free seats the window would leave stranded beside it."""
    left, right = _run_around(is_free, start, count)
    return (left == 1) + (right == 1)


def _flush(is_free: list[bool], start: int, count: int) -> bool:
    left, right = _run_around(is_free, start, count)
    return left == 0 or right == 0


# In the closest group, one row further apart weighs as two seats further along a row (an aisle is one).
ROW_WEIGHT = 2


def _closest_group(layout: Layout, free: set[str], count: int) -> list[str]:
    columns = layout.columns()
    by_row: dict[int, list[tuple[int, str]]] = {}
    for label in free:
        by_row.setdefault(int(label[:-1]), []).append((columns[label[-1]], label))
    best: tuple | None = None
    choice: list[str] = []
    for height in range(1, layout.rows + 1):
        for top in range(1, layout.rows - height + 2):
            band = sorted(
                (column, row, label) for row in range(top, top + height) for column, label in by_row.get(row, [])
            )
            if len(band) < count:
                continue
            for i in range(len(band) - count + 1):  # the narrowest window of `count` seats in the band
                span = band[i + count - 1][0] - band[i][0] + 1
                key = (span + ROW_WEIGHT * (height - 1), height, top, band[i][0])
                if best is None or key < best:
                    best, choice = key, [label for _c, _r, label in band[i : i + count]]
        # A taller band costs at least this: it cannot be closer (and at equal cost the lower band wins).
        if best is not None and best[0] <= -(-count // (height + 1)) + ROW_WEIGHT * height:
            break
    return sorted(choice, key=lambda label: (int(label[:-1]), columns[label[-1]]))
