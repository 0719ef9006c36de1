"""Order statuses are unnamed SSE events (type "message", sent without an `event:` line, as the original
system sent them) instead of events named "status". The kept events of order channels take the new type,
so that a client resuming after the upgrade with Last-Event-ID receives them through `onmessage` too."""

from django.db import migrations


def statuses_unnamed(apps, schema_editor):
    Event = apps.get_model("django_eventstream", "Event")
    Event.objects.filter(channel__startswith="order-", type="status").update(type="message")


def statuses_named(apps, schema_editor):
    Event = apps.get_model("django_eventstream", "Event")
    Event.objects.filter(channel__startswith="order-", type="message").update(type="status")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_commerce_review"),
        ("django_eventstream", "0001_initial"),
    ]

    operations = [migrations.RunPython(statuses_unnamed, statuses_named)]
