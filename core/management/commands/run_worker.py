from django.conf import settings
from django.core.management.base import BaseCommand

from core.worker import run_cluster


class Command(BaseCommand):
    help = (
        "Run the background workers (a django-q2 cluster) until SIGTERM or Ctrl-C, then stop cleanly: "
        "running tasks get WORKER_STOP_GRACE_SECONDS to finish, then payment attempts are handed back."
    )

    def handle(self, *args, **options):
        run_cluster(grace_seconds=settings.WORKER_STOP_GRACE_SECONDS)
