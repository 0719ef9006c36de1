"""What happens to a booking after it is paid: seat changes, refunds and the emails about them."""

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from orders.models.orders import Order


class ChangeState(models.TextChoices):
    CHARGING = "CHARGING"  # the new seats held beside the old; the price difference being charged
    DONE = "DONE"  # the new seats booked, the old ones back on sale
    UNDONE = "UNDONE"  # the charge failed: the new seats released, the booking as it was


class BookingChange(FSMModelMixin, models.Model):
    """A confirmed booking's seats changed for others (as many), settled by money before it counts:
    a higher price is charged (attempts like a first payment's), a lower one refunded (a Refund)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="changes")
    state = FSMField(default=ChangeState.CHARGING, choices=ChangeState.choices, protected=True)
    seats_before = models.JSONField(default=list)  # the booking's seats when it was asked for
    seats_after = models.JSONField(default=list)
    # The new seats' prices frozen when asked for; what the change costs (negative: paid back), in `currency`.
    seat_prices = models.JSONField(default=dict)
    difference = models.DecimalField(max_digits=9, decimal_places=2)
    currency = models.CharField(max_length=3)
    payment_code = models.CharField(max_length=5, blank=True)
    # The gateway calls: [{"number", "outcome", "error", "started_at", "finished_at"}] (orders/services/money.py).
    attempts = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)  # when a worker is next needed (as payment_due_at)
    last_error = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(state="CHARGING"), name="one_change_at_a_time")
        ]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="CHARGING"), name="change_due"),
            models.Index(fields=["created_at"], name="change_created_at"),  # the dashboard's last hour and day
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {','.join(self.seats_before)} -> {','.join(self.seats_after)} {self.state}"

    @transition(field=state, source=ChangeState.CHARGING, target=ChangeState.DONE)
    def settle(self) -> None:
        pass

    @transition(field=state, source=ChangeState.CHARGING, target=ChangeState.UNDONE)
    def undo(self) -> None:
        pass


class RefundState(models.TextChoices):
    PENDING = "PENDING"  # to be paid back: a worker tries (again) from due_at
    PAID = "PAID"
    FAILED = "FAILED"  # every try failed: an operator retries it (the alert rules tell)


class RefundReason(models.TextChoices):
    CANCELLATION = "cancellation"
    SEAT_CHANGE = "seat_change"  # the new seats cost less
    LATE_PAYMENT = "late_payment"  # money the gateway took after the order ended, its seats gone


class Refund(FSMModelMixin, models.Model):
    """Money paid back to a booking's payer through the gateway, once (one idempotency key per try, a
    try made again only once the gateway says the last one took nothing); its credit note is the record."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    change = models.OneToOneField(BookingChange, on_delete=models.CASCADE, null=True, blank=True)
    reason = models.CharField(max_length=16, choices=RefundReason.choices)
    state = FSMField(default=RefundState.PENDING, choices=RefundState.choices, protected=True)
    seats = models.JSONField(default=list)  # the seats given back (a cancellation), or left (a seat change)
    amount = models.DecimalField(max_digits=9, decimal_places=2)  # paid back
    fee = models.DecimalField(max_digits=9, decimal_places=2, default=0)  # kept, by the refund policy
    currency = models.CharField(max_length=3)
    # A late payment's: the idempotency key of the charge paid back (at most one refund per charge).
    charge_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    credit_note = models.CharField(max_length=20, unique=True)  # e.g. CN-K7M2QX-1
    attempts = models.JSONField(default=list, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    actor = models.CharField(max_length=150)
    note = models.CharField(max_length=500, blank=True)  # why, as asked (an operator's reason)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["due_at"], condition=Q(state="PENDING"), name="refund_due"),
            models.Index(fields=["state", "created_at"], name="refund_state_created"),
        ]

    def __str__(self) -> str:
        return f"{self.credit_note}: {self.amount} {self.currency} {self.state}"

    @transition(field=state, source=RefundState.PENDING, target=RefundState.PAID)
    def pay(self) -> None:
        pass

    @transition(field=state, source=RefundState.PENDING, target=RefundState.FAILED)
    def give_up(self) -> None:
        pass

    @transition(field=state, source=RefundState.FAILED, target=RefundState.PENDING)
    def retry(self) -> None:
        pass


class NoticeKind(models.TextChoices):
    SEATS_CHANGED = "seats_changed"
    CANCELLED = "cancelled"  # some or all seats given back
    REFUNDED = "refunded"
    LATE_CONFIRMED = "late_confirmed"  # a late payment kept: the booking confirmed after all


class Notice(models.Model):
    """One email about a booking after it was confirmed, made once per event it tells (the unique key)
    and sent once by a worker, like the confirmation (orders/services/notices.py)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=16, choices=NoticeKind.choices)
    key = models.CharField(max_length=120, unique=True)  # e.g. "change:12", "refund:7": made at most once
    due_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["due_at"], condition=Q(due_at__isnull=False), name="notice_due")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.kind}"
