"""The WSGI entry point of a request/response web process (granian's WSGI workers; deploy/granian.py).

A worker serves one request at a time per thread, so it keeps its PostgreSQL connection from
request to request (CONN_MAX_AGE): one connection per worker thread and no pool. No health check before
each request: it is a SELECT 1 per request (measured: a tenth of a seat change's time). A connection that
breaks (PostgreSQL restarted) fails the one request that meets it (503, core/api_errors.py), and Django
closes it at that request's end; the next request opens a new one. No psycopg pool here: granian forks its workers, and a pool made before a
fork would be shared by them (settings.WEB_DB_POOL is for the ASGI process, seatbooking/asgi.py).
Event streams need the ASGI process; nginx sends them there (deploy/nginx.conf).
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")

import django
from django.conf import settings

WSGI_CONN_MAX_AGE = 600  # seconds a worker keeps its connection before opening a new one

database = settings.DATABASES["default"]
if database["ENGINE"] == "django.db.backends.postgresql":
    database["CONN_MAX_AGE"] = WSGI_CONN_MAX_AGE
    database["CONN_HEALTH_CHECKS"] = False
    database.get("OPTIONS", {}).pop("pool", None)
django.setup(set_prefix=False)

from core.collector import quiet_garbage_collection  # noqa: E402
from seatbooking.handlers import web_application  # noqa: E402

application = web_application()
quiet_garbage_collection()  # in each worker (this module is imported after the fork)
