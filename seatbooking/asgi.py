"""The ASGI entry point of a web process (uvicorn seatbooking.asgi:application)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatbooking.settings")

import django
from django.conf import settings

# The connection pool is for web processes only (settings.WEB_DB_POOL, on by default on PostgreSQL), and
# this module is where a web process starts; set it before any connection is made.
if settings.WEB_DB_POOL:
    settings.DATABASES["default"].setdefault("OPTIONS", {})["pool"] = settings.WEB_DB_POOL
if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    settings.DATABASES["default"]["OPTIONS"]["application_name"] = "seatbooking web"
django.setup(set_prefix=False)

from core.web_process import build_application  # noqa: E402 - needs the apps loaded
from seatbooking.handlers import web_application  # noqa: E402

application = build_application(web_application())
