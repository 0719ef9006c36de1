"""Seat holds: which order holds or has booked which seat, until when. The rule of the service lives
here: a seat belongs to at most one live hold at any instant (`SeatHold.objects.live`)."""

import datetime as dt

from django.db import models
from django.db.models import Q

from flights.models import Seat


class HoldState(models.TextChoices):
    HELD = "HELD"
    CONFIRMED = "CONFIRMED"
    RELEASED = "RELEASED"
    EXPIRED = "EXPIRED"


LIVE_HOLD_STATES = (HoldState.HELD, HoldState.CONFIRMED)


def live_at(now: dt.datetime, prefix: str = "") -> Q:
    """The one definition of a live hold at `now`: booked, held while its payment runs (no deadline), or
    held before its deadline. A HELD row past its deadline no longer counts, whether or not a sweeper
    has marked it yet. (`prefix` reaches holds through a relation, e.g. "holds__".)"""
    p = prefix
    return Q(**{f"{p}state": HoldState.CONFIRMED}) | Q(
        Q(**{f"{p}expires_at__isnull": True}) | Q(**{f"{p}expires_at__gt": now}),
        **{f"{p}state": HoldState.HELD},
    )


def live_sql(alias: str) -> str:
    """`live_at` in SQL, for hand-written statements over the holds table aliased `alias`; it takes `now`
    as its one parameter. Tested against `live_at` (tests/inventory/test_models.py)."""
    a = alias
    return (
        f"({a}.state = '{HoldState.CONFIRMED}' OR ({a}.state = '{HoldState.HELD}' "
        f"AND ({a}.expires_at IS NULL OR {a}.expires_at > %s)))"
    )


class SeatHoldQuerySet(models.QuerySet["SeatHold"]):
    def live(self, *, at: dt.datetime) -> "SeatHoldQuerySet":
        return self.filter(live_at(at))


class SeatHold(models.Model):
    """A seat held or booked by an order.

    At most one row per seat is HELD or CONFIRMED (a partial unique index). A HELD row whose `expires_at`
    has passed no longer counts: the next writer that wants the seat marks it EXPIRED before holding the
    seat itself. `expires_at` is null while the order's payment is processing: such a hold cannot lapse.

    The holder is an order id, not a foreign key in this app's model, so that the inventory knows nothing
    of orders; the table (orders_seathold, where this model lived before) keeps its foreign-key
    constraint to the orders table, so the database still refuses a hold of no order.
    """

    order_id = models.CharField(max_length=64, db_index=True)
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="holds")
    state = models.CharField(max_length=10, choices=HoldState.choices, default=HoldState.HELD)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = SeatHoldQuerySet.as_manager()

    class Meta:
        db_table = "orders_seathold"
        ordering = ["seat_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"],
                condition=Q(state__in=LIVE_HOLD_STATES),
                name="one_live_hold_per_seat",
            )
        ]
        indexes = [
            models.Index(fields=["order_id", "state"], name="hold_order_state"),
            # The operators' dashboard: holds made and ended per minute over the last hour (operations/).
            models.Index(fields=["created_at"], name="hold_created_at"),
            models.Index(fields=["ended_at"], name="hold_ended_at"),
            # The metrics snapshot (orders/metrics.py): the seats held now, without reading every booking.
            models.Index(fields=["expires_at"], condition=Q(state=HoldState.HELD), name="hold_held"),
        ]

    def __str__(self) -> str:
        return f"{self.seat_id} {self.state} for {self.order_id}"
