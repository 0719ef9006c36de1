"""The web process without admission, for the control in tests/core/test_admission.py only: the same
application with the request threads' queue unbounded (uvicorn tests.admission_control:application)."""

import seatbooking.asgi  # noqa: F401 - sets Django up for a web process (pool, connection names)
from core.web_process import build_application
from seatbooking.handlers import web_application

application = build_application(web_application(), admission=False)
