"""The order: its states and transitions, its payment attempts and its audit trail."""

import datetime as dt

from django.db import models
from django.db.models import Q
from django_fsm import FSMField, FSMModelMixin, transition

from flights.models import Flight


class OrderState(models.TextChoices):
    PENDING = "PENDING"
    SEATS_SELECTED = "SEATS_SELECTED"
    PROCESSING_PAYMENT = "PROCESSING_PAYMENT"
    CONFIRMED = "CONFIRMED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


# The states in which an order may change its seats (or be cancelled by its traveller).
OPEN_STATES = (OrderState.PENDING, OrderState.SEATS_SELECTED)
# The states in which an order counts against its client's limits: not over yet (orders/services/client_limits.py).
CLIENT_COUNTED_STATES = (*OPEN_STATES, OrderState.PROCESSING_PAYMENT)


def lapsed_holds(now: dt.datetime) -> Q:
    """Orders whose hold has lapsed at `now`: seats held, deadline passed, whether or not the timer loop has
    expired them yet. The one definition; `Order.hold_lapsed` is it for a row in hand, and
    orders/selectors.py's SQL is generated from the same names (tests/orders/test_rules.py checks all three)."""
    return Q(state=OrderState.SEATS_SELECTED, hold_expires_at__lte=now)


def is_lapsed_hold(state: str, hold_expires_at: dt.datetime | None, now: dt.datetime) -> bool:
    """`lapsed_holds` for an order's state and deadline in hand (a row, or its keys: orders/access.py)."""
    return state == OrderState.SEATS_SELECTED and hold_expires_at is not None and hold_expires_at <= now


class Order(FSMModelMixin, models.Model):
    """A traveller's booking. Its state changes only through the transitions below, called by orders/services/."""

    id = models.CharField(primary_key=True, max_length=64)
    flight = models.ForeignKey(Flight, on_delete=models.PROTECT, related_name="orders")
    # sha256 of the bearer token handed out once at creation; the token itself is never stored.
    token_hash = models.CharField(max_length=64)
    state = FSMField(default=OrderState.PENDING, choices=OrderState.choices, protected=True, db_index=True)
    # The hold's deadline, shared by all of the order's held seats. Null while nothing is held.
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    # When the order first held a seat: changing seats extends the hold, but never past this plus
    # HOLD_EXTENSION_CAP_SECONDS, so that nobody can keep seats off the market for ever.
    first_held_at = models.DateTimeField(null=True, blank=True)
    # Payment: the code while it is being paid with; attempts started; trying/retrying/success/failed.
    payment_code = models.CharField(max_length=5, blank=True)
    payment_attempts_used = models.PositiveSmallIntegerField(default=0)
    payment_status = models.CharField(max_length=16, blank=True)
    last_payment_error = models.CharField(max_length=500, blank=True)
    # When the payment next needs a worker: the next attempt, or the moment a running attempt counts as
    # lost. The timer loop enqueues work for orders whose time has come (orders/timers.py).
    payment_due_at = models.DateTimeField(null=True, blank=True)
    # The price of the seats, fixed when the payment starts (the amount charged) in the flight's currency.
    amount = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # Each held seat's zone and price, frozen when the seat was first held (the price the traveller saw):
    # {"1A": {"zone": "Front", "price": "45.00"}}, in `currency`. The amount is their sum; the receipt
    # and the email show them (flights/fares.py, Fares.freeze).
    seat_prices = models.JSONField(default=dict, blank=True)
    # Given on CONFIRMED: 6 characters of an unambiguous alphabet (orders/services/reference.py).
    reference = models.CharField(max_length=6, unique=True, null=True, blank=True)
    # Who travels (a first and last name per held seat) and where the confirmation goes; both optional
    # over the API (orders/services/passengers.py).
    contact_email = models.EmailField(max_length=254, blank=True)
    passengers = models.JSONField(default=list, blank=True)
    # When the confirmation email went out: its task sends at most once (orders/services/confirmation.py).
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    # When the timer loop asks a worker for the email again if it has not gone out (its task was lost).
    confirmation_due_at = models.DateTimeField(null=True, blank=True)
    # The email's sends so far, and the lease of the worker sending it now (others skip until it ends);
    # when it was given up (refused for good, or too many failed tries).
    confirmation_attempts = models.PositiveSmallIntegerField(default=0)
    confirmation_claimed_until = models.DateTimeField(null=True, blank=True)
    confirmation_failed_at = models.DateTimeField(null=True, blank=True)
    # Part of the find-my-booking token: an operator bumps it to revoke every booking link (orders/access.py).
    booking_link_version = models.PositiveIntegerField(default=0)
    # The client that created the order, as the limits on what one client may hold count it (orders/clients.py):
    # keyed digests of its address (IPv6 by its /64) and of its browser session (blank without one); both
    # blank for staff, whom the limits leave alone. Digests, so that no session key is stored.
    client_address = models.CharField(max_length=32, blank=True, default="")
    client_session = models.CharField(max_length=32, blank=True, default="")
    # The language the order was made in (settings.LANGUAGES; the page's, or the API's Accept-Language): its
    # confirmation email speaks it. Blank: the default language; in the database too, for rows written in bulk SQL.
    language = models.CharField(max_length=8, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # What one client holds (orders/services/client_limits.py): its open orders, per flight.
            models.Index(
                fields=["client_address", "flight"],
                condition=Q(state__in=CLIENT_COUNTED_STATES),
                name="order_client_address",
            ),
            models.Index(
                fields=["client_session", "flight"],
                condition=Q(state__in=CLIENT_COUNTED_STATES),
                name="order_client_session",
            ),
            # The timer loop's two questions: which holds have lapsed, which payments are due.
            models.Index(fields=["hold_expires_at"], condition=Q(state="SEATS_SELECTED"), name="order_hold_due"),
            models.Index(fields=["payment_due_at"], condition=Q(state="PROCESSING_PAYMENT"), name="order_payment_due"),
            models.Index(
                fields=["confirmation_due_at"],
                condition=Q(confirmation_due_at__isnull=False),
                name="order_confirmation_due",
            ),
        ]

    def __str__(self) -> str:
        return self.id

    def hold_lapsed(self, now: dt.datetime) -> bool:
        """`lapsed_holds` for this row as it is in hand."""
        return is_lapsed_hold(self.state, self.hold_expires_at, now)

    # Transitions: django-fsm refuses any other source state. Side effects live in the services.
    @transition(field=state, source=list(OPEN_STATES), target=OrderState.SEATS_SELECTED)
    def select_seats(self) -> None:
        pass

    @transition(field=state, source=list(OPEN_STATES), target=OrderState.PENDING)
    def clear_seats(self) -> None:
        pass

    @transition(field=state, source=OrderState.SEATS_SELECTED, target=OrderState.PROCESSING_PAYMENT)
    def begin_payment(self) -> None:
        pass

    @transition(field=state, source=OrderState.PROCESSING_PAYMENT, target=OrderState.CONFIRMED)
    def confirm(self) -> None:
        pass

    @transition(field=state, source=OrderState.PROCESSING_PAYMENT, target=OrderState.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=state, source=OrderState.SEATS_SELECTED, target=OrderState.EXPIRED)
    def expire(self) -> None:
        pass

    @transition(field=state, source=list(OPEN_STATES), target=OrderState.CANCELLED)
    def cancel(self) -> None:
        pass

    # After paying (orders/services/manage.py): every seat given back; a payment the gateway took after the
    # order ended, kept with its seats (orders/services/late_money.py).
    @transition(field=state, source=OrderState.CONFIRMED, target=OrderState.CANCELLED)
    def cancel_booking(self) -> None:
        pass

    @transition(field=state, source=OrderState.FAILED, target=OrderState.CONFIRMED)
    def confirm_late(self) -> None:
        pass


class PaymentStatus(models.TextChoices):
    TRYING = "trying"
    RETRYING = "retrying"
    SUCCESS = "success"
    FAILED = "failed"


class AttemptOutcome(models.TextChoices):
    RUNNING = "running"
    SUCCESS = "success"
    DECLINED = "declined"
    TIMEOUT = "timeout"
    ERROR = "error"
    # Its worker died before reporting, counted as a failed attempt: no longer given, since an answer that
    # was lost is reconciled with the gateway (orders/services/payments.py); kept for the rows that have it.
    LOST = "lost"
    # Its worker was stopping: the attempt is handed back (its row deleted, no attempt used) and made
    # again at once. Never stored on an attempt; the audit entry of the hand-back records it.
    INTERRUPTED = "interrupted"


class PaymentAttempt(models.Model):
    """One try at the gateway. Numbers run 1..PAYMENT_MAX_ATTEMPTS; at most one per order succeeds."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payment_attempts")
    number = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices, default=AttemptOutcome.RUNNING)
    error = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "number"], name="one_attempt_per_number"),
            models.UniqueConstraint(fields=["order"], condition=Q(outcome="success"), name="one_success_per_order"),
        ]
        indexes = [
            # The operators' dashboard: attempts of the last hour by outcome (operations/).
            models.Index(fields=["started_at"], name="attempt_started_at"),
            # The metrics snapshot (orders/metrics.py): attempts finished since the last refresh, and the
            # running ones, without reading every attempt ever made.
            models.Index(fields=["finished_at"], name="attempt_finished_at"),
            models.Index(fields=["started_at"], condition=Q(outcome="running"), name="attempt_running"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} attempt {self.number}: {self.outcome}"


class AuditAction(models.TextChoices):
    """What an audit entry records (orders/services/ writes one per change)."""

    CREATE = "create"
    SELECT_SEATS = "select_seats"
    CANCEL = "cancel"
    EXPIRE = "expire"
    SUBMIT_PAYMENT = "submit_payment"
    PAYMENT_ATTEMPT = "payment_attempt"  # an attempt started, failed (with retries left) or was handed back
    CONFIRM = "confirm"
    FAIL = "fail"
    RETRY_PAYMENT = "retry_payment"  # an operator handed a stuck payment to the workers
    PASSENGERS = "passengers"  # names per seat and the contact email given
    CONFIRMATION_SENT = "confirmation_sent"  # the confirmation email went out
    CONFIRMATION_FAILED = "confirmation_failed"  # a send failed (retried later) or was given up
    REVOKE_LINKS = "revoke_links"  # an operator revoked the booking's find-my-booking tokens
    HOLD_AGAIN = "hold_again"  # an ended order's seats were held again by a new order (details: which)
    CHANGE_SEATS = "change_seats"  # a confirmed booking's seat change asked for, done or undone
    CANCEL_BOOKING = "cancel_booking"  # seats of a confirmed booking given back (all, or some)
    REFUND = "refund"  # a refund asked for, tried, paid or given up
    LATE_PAYMENT = "late_payment"  # the gateway took money after the order ended: re-held or refunded
    NOTICE_SENT = "notice_sent"  # an email about a change, a cancellation or a refund went out


class AuditEntry(models.Model):
    """One change of an order: what happened, from which state to which, when, why and by whom."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="audit_entries")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.CharField(
        max_length=150,
        help_text="Who asked, and from which client address for HTTP changes: "
        "token@<address>, session@..., api@..., staff:<name>@..., admin:<name>@..., or system:<part>.",
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "audit entries"
        # The operators' dashboard: the last hour's expiries and their lateness (operations/).
        indexes = [models.Index(fields=["action", "created_at"], name="audit_action_created")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.action} {self.from_state}->{self.to_state}"


class MetricsSnapshot(models.Model):
    """The database figures GET /metrics shows, as of `taken_at`: one row, refreshed by the timer loop.

    A scrape reads this row and nothing else, so its cost does not grow with the tables; the aggregates
    run once per METRICS_REFRESH_SECONDS per timer loop (orders/metrics.py, refresh_snapshot).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    taken_at = models.DateTimeField()
    figures = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"metrics at {self.taken_at:%H:%M:%S}"
