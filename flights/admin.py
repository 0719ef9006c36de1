from django.contrib import admin

from flights.models import Airport, Flight


@admin.register(Airport)
class AirportAdmin(admin.ModelAdmin):
    """Airports and their time zones: a flight's times are shown in its airports' zones (flights/times.py)."""

    list_display = ["code", "city", "name", "time_zone"]
    search_fields = ["code", "city", "name"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        # Flights naming this city and linked to no airport yet take it: their times become local.
        Flight.objects.filter(origin=obj.city, origin_airport=None).update(origin_airport=obj)
        Flight.objects.filter(destination=obj.city, destination_airport=None).update(destination_airport=obj)
