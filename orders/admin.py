"""Operators' view of orders. Read-only where the state machine rules: every change goes through a
service (orders/services/), which records the operator's name in the audit trail."""

import datetime as dt

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.errors import ServiceError
from inventory.models import SeatHold
from orders import services
from orders.access import actor_for
from orders.admin_after_booking import AfterBookingActions, BookingChangeInline, RefundInline
from orders.models import AuditEntry, Order, OrderState, PaymentAttempt


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PaymentAttemptInline(ReadOnlyInline):
    model = PaymentAttempt
    readonly_fields = ["number", "outcome", "error", "started_at", "finished_at"]


class AuditEntryInline(ReadOnlyInline):
    model = AuditEntry
    readonly_fields = ["created_at", "action", "from_state", "to_state", "reason", "actor", "details"]
    verbose_name_plural = "audit trail"


class HoldEndsWithinFilter(admin.SimpleListFilter):
    title = "hold ends within"
    parameter_name = "hold_ends_within"

    def lookups(self, request, model_admin):
        return [("1", "1 minute"), ("5", "5 minutes"), ("15", "15 minutes")]

    def queryset(self, request, queryset):
        if minutes := self.value():
            now = timezone.now()
            return queryset.filter(
                state=OrderState.SEATS_SELECTED,
                hold_expires_at__gt=now,
                hold_expires_at__lte=now + dt.timedelta(minutes=int(minutes)),
            )
        return queryset


def _run(modeladmin, request, queryset, change, done: str) -> None:
    """Apply a service to each chosen order, as the operator; report what happened and what was refused."""
    actor = actor_for(f"admin:{request.user.get_username()}", request)
    changed, refused = 0, []
    for order_id in queryset.values_list("pk", flat=True):
        try:
            change(order_id=order_id, actor=actor)
            changed += 1
        except ServiceError as exc:
            refused.append(f"{order_id}: {exc.message}")
    if changed:
        modeladmin.message_user(request, f"{done}: {changed} order(s).", messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


@admin.register(Order)
class OrderAdmin(AfterBookingActions, admin.ModelAdmin):
    list_display = [
        "id",
        "reference",
        "flight",
        "state",
        "hold_expires_at",
        "payment_status",
        "payment_attempts_used",
        "created_at",
    ]
    list_filter = ["state", HoldEndsWithinFilter, "flight"]
    # A traveller on the phone gives the booking reference (exact, any case) or the contact email.
    search_fields = ["id", "=reference", "flight__code", "contact_email"]
    readonly_fields = [
        "id",
        "flight",
        "state",
        "hold_expires_at",
        "payment_attempts_used",
        "payment_status",
        "last_payment_error",
        "payment_due_at",
        "reference",
        "amount",
        "currency",
        "contact_email",
        "passengers",
        "confirmation_sent_at",
        "created_at",
        "updated_at",
        "seat_holds",
    ]
    exclude = ["token_hash", "payment_code"]
    inlines = [BookingChangeInline, RefundInline, PaymentAttemptInline, AuditEntryInline]
    list_select_related = ["flight"]
    actions = [
        "expire_now",
        "cancel_and_release",
        "retry_payment",
        "revoke_booking_links",
        "cancel_booking_by_policy",
        "cancel_booking_fee_waived",
        "change_seats",
        "check_late_payments",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="seat holds")
    def seat_holds(self, order):
        """The order's holds, every one it ever had (the inventory keeps them by order id)."""
        holds = SeatHold.objects.filter(order_id=order.pk).select_related("seat").order_by("created_at", "seat_id")
        rows = ((h.seat.label, h.state, h.expires_at or "-", h.created_at, h.ended_at or "-") for h in holds)
        return format_html(
            "<table><tr><th>seat</th><th>state</th><th>expires</th><th>created</th><th>ended</th></tr>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    # Nothing on an order is edited by hand: a save would race the services' locked changes.
    def save_model(self, request, obj, form, change) -> None:
        pass

    def save_related(self, request, form, formsets, change) -> None:
        pass

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Expire now (release the held seats)", permissions=["change"])
    def expire_now(self, request, queryset):
        _run(self, request, queryset, services.expire_now, "Expired")

    @admin.action(description="Cancel and release the seats", permissions=["change"])
    def cancel_and_release(self, request, queryset):
        _run(
            self,
            request,
            queryset,
            lambda order_id, actor: services.cancel_order(
                order_id=order_id, actor=actor, reason="cancelled by an operator"
            ),
            "Cancelled",
        )

    @admin.action(description="Retry a stuck payment now", permissions=["change"])
    def retry_payment(self, request, queryset):
        _run(self, request, queryset, services.retry_payment_now, "Payment handed to the workers")

    @admin.action(description="Revoke booking links (find-my-booking tokens)", permissions=["change"])
    def revoke_booking_links(self, request, queryset):
        _run(self, request, queryset, services.revoke_booking_links, "Booking links revoked")
