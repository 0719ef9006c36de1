import signal
import threading

from django.core.management.base import BaseCommand

from orders import timers


class Command(BaseCommand):
    help = "Run the timer loop: expire lapsed holds and enqueue due payment attempts (safe to run several)."

    def handle(self, *args, **options):
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        timers.run(stop)
