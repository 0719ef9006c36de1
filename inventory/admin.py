from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.errors import InvalidInput
from flights.layout import parse_exit_rows, parse_wing_rows
from flights.models import Flight, Seat
from inventory.selectors import seat_availability


class FlightForm(forms.ModelForm):
    """The flight's editable fields; the cabin's orientation (exit rows, wings) and its fares (Flight.clean)
    are checked against its seat map, which is read-only (FlightAdmin.readonly_fields)."""

    class Meta:
        model = Flight
        fields = [
            "code",
            "origin",
            "destination",
            "departs_at",
            "arrives_at",
            "origin_airport",
            "destination_airport",
            "currency",
            "base_fare",
            "fare_zones",
            "exit_rows",
            "wing_rows",
        ]

    def clean(self):
        data = super().clean() or {}
        for field, parse in (("exit_rows", parse_exit_rows), ("wing_rows", parse_wing_rows)):
            try:
                parse(data.get(field, ""), rows=self.instance.rows)
            except InvalidInput as exc:
                self.add_error(field, exc.message)
        return data


@admin.register(Flight)
class FlightAdmin(admin.ModelAdmin):
    form = FlightForm
    list_display = ["code", "origin", "destination", "departs_at", "seats_available", "seats_held", "seats_booked"]
    list_select_related = ["origin_airport", "destination_airport"]
    search_fields = ["code", "origin", "destination"]
    # The seat map is generated with the flight (flights.services.create_flight); changing it here would
    # leave seats behind, so the layout is read-only.
    readonly_fields = ["rows", "letters", "aisles_after", "seat_map"]

    def has_add_permission(self, request) -> bool:
        return False

    def _availability(self, flight):
        cache = getattr(self, "_cache", {})
        if flight.pk not in cache:
            cache[flight.pk] = seat_availability(flight=flight)
            self._cache = cache
        return cache[flight.pk]

    def get_queryset(self, request):
        self._cache = {}
        return super().get_queryset(request)

    @admin.display(description="available")
    def seats_available(self, flight):
        return len(self._availability(flight).available)

    @admin.display(description="held")
    def seats_held(self, flight):
        return len(self._availability(flight).held)

    @admin.display(description="booked")
    def seats_booked(self, flight):
        return len(self._availability(flight).confirmed)

    @admin.display(description="seat map (· free, H held, B booked)")
    def seat_map(self, flight):
        a = seat_availability(flight=flight)
        held, booked = set(a.held), set(a.confirmed)
        rows = []
        for row in range(1, flight.rows + 1):
            marks = []
            for letter in flight.letters:
                label = f"{row}{letter}"
                marks.append("B" if label in booked else "H" if label in held else "·")
                if letter in flight.aisles_after:
                    marks.append(" ")
            rows.append((f"{row:>2}", " ".join(marks)))
        header = " ".join(letter + (" " if letter in flight.aisles_after else "") for letter in flight.letters)
        return format_html("<pre>   {}\n{}</pre>", header, format_html_join("\n", "{} {}", rows))


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["label", "flight", "row", "letter"]
    list_filter = ["flight"]
    search_fields = ["label", "flight__code"]
    readonly_fields = ["flight", "label", "row", "letter"]

    def has_add_permission(self, request) -> bool:
        return False
