"""The operators' tools for a paid booking: cancel it (refund by policy, or the fee waived), change its seats,
retry a refund the workers gave up on, ask the gateway about late payments; and the changes and refunds,
read-only. Every change goes through a service (orders/services/), which checks it and records who asked;
a refusal comes back as a message on the page."""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django_fsm import TransitionNotAllowed

from core.errors import ServiceError
from orders import services, tasks
from orders.access import actor_for
from orders.models import BookingChange, Refund, RefundState

FORM_TEMPLATE = "admin/orders/after_booking_form.html"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=400, widget=forms.Textarea(attrs={"rows": 3}), help_text="Recorded in the audit trail."
    )


class ChangeSeatsForm(forms.Form):
    seats = forms.CharField(max_length=200, help_text='The booking\'s new seats, as many as it has: "1A 1B".')
    code = forms.CharField(
        max_length=5, required=False, help_text="The traveller's 5-digit payment code, if the new seats cost more."
    )


def operator(request: HttpRequest) -> str:
    return actor_for(f"admin:{request.user.get_username()}", request)


def ask_form(modeladmin, request, queryset: QuerySet, form_class: type[forms.Form], *, action: str, title: str):
    """The form the action asks for (its intermediate page, like the delete confirmation), bound once
    posted: (form, None) when valid, else (None, the page to show)."""
    form = form_class(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        return form, None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "objects": list(queryset),
        "action": action,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return None, TemplateResponse(request, FORM_TEMPLATE, context)


def each(modeladmin, request, ids: list, change: Callable, done: str) -> None:
    """Apply `change` to each id; say how many were done and each refusal, as messages."""
    changed, refused = 0, []
    for pk in ids:
        try:
            change(pk)
            changed += 1
        except ServiceError as exc:
            refused.append(f"{pk}: {exc.message}")
        except TransitionNotAllowed:
            refused.append(f"{pk}: not in a state this allows.")
    if changed:
        modeladmin.message_user(request, f"{done}: {changed}.", messages.SUCCESS)
    for reason in refused:
        modeladmin.message_user(request, reason, messages.WARNING)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class BookingChangeInline(ReadOnlyInline):
    model = BookingChange
    readonly_fields = ["created_at", "state", "seats_before", "seats_after", "difference", "actor"]
    verbose_name_plural = "seat changes"


class RefundInline(ReadOnlyInline):
    model = Refund
    readonly_fields = ["created_at", "credit_note", "reason", "state", "amount", "fee", "seats", "note"]


class AfterBookingActions:
    """Order admin actions for a paid booking (mixed into OrderAdmin)."""

    def _cancel(self, request, queryset, *, waive_fee: bool, action: str, title: str):
        form, page = ask_form(self, request, queryset, ReasonForm, action=action, title=title)
        if form is None:
            return page
        actor, reason = operator(request), form.cleaned_data["reason"]
        each(
            self,
            request,
            list(queryset.values_list("pk", flat=True)),
            lambda pk: services.cancel_booking(
                order_id=pk, actor=actor, staff=True, waive_fee=waive_fee, reason=reason
            ),
            "Bookings cancelled" + (", fee waived" if waive_fee else ", refunded by policy"),
        )
        return None

    @admin.action(description="Cancel booking (refund by policy)", permissions=["change"])
    def cancel_booking_by_policy(self, request, queryset):
        return self._cancel(
            request, queryset, waive_fee=False, action="cancel_booking_by_policy", title="Cancel booking"
        )

    @admin.action(description="Cancel booking, fee waived", permissions=["change"])
    def cancel_booking_fee_waived(self, request, queryset):
        return self._cancel(
            request, queryset, waive_fee=True, action="cancel_booking_fee_waived", title="Cancel booking, fee waived"
        )

    @admin.action(description="Change seats", permissions=["change"])
    def change_seats(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Change the seats of one booking at a time.", messages.WARNING)  # type: ignore[attr-defined]
            return None
        form, page = ask_form(self, request, queryset, ChangeSeatsForm, action="change_seats", title="Change seats")
        if form is None:
            return page
        actor, labels = operator(request), form.cleaned_data["seats"].replace(",", " ").split()
        code = form.cleaned_data["code"] or None
        each(
            self,
            request,
            list(queryset.values_list("pk", flat=True)),
            lambda pk: services.change_booking_seats(order_id=pk, labels=labels, code=code, actor=actor, staff=True),
            "Seat change asked (a dearer one settles once charged; see its state below)",
        )
        return None

    @admin.action(description="Ask the gateway about a late payment", permissions=["change"])
    def check_late_payments(self, request, queryset):
        # The task looks at every recently failed order, whichever are chosen: it is cheap and idempotent.
        try:
            done = tasks.check_late_payments()
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.WARNING)  # type: ignore[attr-defined]
            return
        if not done:
            self.message_user(request, "The gateway took no late payment of a recently failed order.", messages.INFO)  # type: ignore[attr-defined]
        for order_id, outcome in done.items():
            self.message_user(request, f"{order_id}: {outcome}", messages.SUCCESS)  # type: ignore[attr-defined]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BookingChange)
class BookingChangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "state", "seats_before", "seats_after", "difference", "currency", "created_at"]
    list_filter = ["state"]
    search_fields = ["=order__id", "=order__reference"]
    list_select_related = ["order"]
    exclude = ["payment_code"]


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["credit_note", "order", "reason", "state", "amount", "fee", "currency", "created_at", "paid_at"]
    list_filter = ["state", "reason"]
    search_fields = ["=credit_note", "=order__id", "=order__reference"]
    list_select_related = ["order"]
    actions = ["retry_refund"]

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_refund")

    @admin.action(description="Retry refund (failed ones)", permissions=["retry"])
    def retry_refund(self, request, queryset):
        form, page = ask_form(self, request, queryset, ReasonForm, action="retry_refund", title="Retry refund")
        if form is None:
            return page
        actor, reason = operator(request), form.cleaned_data["reason"]
        failed = set(queryset.filter(state=RefundState.FAILED).values_list("pk", flat=True))
        for refund in queryset.exclude(pk__in=failed):
            self.message_user(request, f"{refund}: only a FAILED refund is retried.", messages.WARNING)
        each(
            self,
            request,
            sorted(failed),
            lambda pk: services.retry_refund(refund_id=pk, actor=actor, reason=reason),
            "Refunds handed to the workers again",
        )
        return None
