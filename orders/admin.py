from django.contrib import admin

from orders.models import AuditEntry, Order, SeatHold


class SeatHoldInline(admin.TabularInline):
    model = SeatHold
    extra = 0
    can_delete = False
    readonly_fields = ["seat", "state", "expires_at", "created_at", "ended_at"]
    fields = readonly_fields


class AuditEntryInline(admin.TabularInline):
    model = AuditEntry
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "action", "from_state", "to_state", "reason", "actor", "details"]
    fields = readonly_fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: orders change only through orders/services.py, which keeps holds and audit in step."""

    list_display = ["id", "flight", "state", "hold_expires_at", "payment_status", "created_at"]
    list_filter = ["state", "flight"]
    search_fields = ["id", "flight__code"]
    readonly_fields = ["id", "flight", "state", "hold_expires_at", "payment_attempts_used", "payment_status",
                       "last_payment_error", "created_at", "updated_at"]
    exclude = ["token_hash"]
    inlines = [SeatHoldInline, AuditEntryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
