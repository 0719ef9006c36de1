import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")
application = get_asgi_application()

# A web process holds thousands of long-lived event streams; with CPython's default thresholds the
# collector keeps rescanning all of them while events fan out (measured with 2,000 streams: fan-out
# p99 0.68 s by default, 0.23 s with these). Rarer collections, after startup's objects are frozen.
gc.freeze()
gc.set_threshold(int(os.environ.get("WEB_GC_THRESHOLD", 100_000)), 50, 1000)
