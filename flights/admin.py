from django.contrib import admin

from flights.models import Flight, Seat


@admin.register(Flight)
class FlightAdmin(admin.ModelAdmin):
    list_display = ["code", "origin", "destination", "departs_at", "rows", "letters"]
    search_fields = ["code", "origin", "destination"]
    # The seat map is generated with the flight (flights.services.create_flight); changing it here would
    # leave seats behind, so the layout is read-only.
    readonly_fields = ["rows", "letters", "aisles_after"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["label", "flight", "row", "letter"]
    list_filter = ["flight"]
    search_fields = ["label", "flight__code"]
    readonly_fields = ["flight", "label", "row", "letter"]

    def has_add_permission(self, request) -> bool:
        return False
