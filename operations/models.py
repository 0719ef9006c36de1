from django.db import models

from core.events.delivery import is_degraded


class WebProcessReport(models.Model):
    """What a web process serving event streams last said about itself (operations/reporting.py): how it
    learns of new events and how many streams it has open. The dashboard shows the fresh ones, whichever
    process serves the admin (in the deployed layout, granian's WSGI workers, which hold no streams)."""

    name = models.CharField(max_length=100, primary_key=True, help_text="host:pid")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)
    delivery = models.CharField(max_length=40, help_text="Event delivery's mode (core/events/delivery.py).")
    delivery_since = models.DateTimeField()
    delivery_detail = models.CharField(max_length=300, blank=True)
    streams = models.JSONField(default=dict, help_text="Open event streams by kind (order, flight).")

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%H:%M:%S}"

    @property
    def degraded(self) -> bool:
        return is_degraded(self.delivery)
