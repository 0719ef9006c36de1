"""Logs an operator can keep: at INFO, one line per change of an order (orders/services/common.py), no
line per request, no heartbeat or per-task chatter, and repeated refusals summarised.

- `RequestLog` (a filter on django.request): Django logs every 4xx and 5xx answer. A 4xx is business as
  usual (a seat taken, 409) and is dropped; refusals that come in bursts (503 busy or database
  unavailable, 429 throttled or a client's limit) are counted into `REFUSALS` instead of a line (and a
  traceback) each, by the name the refusal was given (`name_refusal`: e.g. "429 client_hold_limit"), else
  by its status; other 5xx (a 500: a bug) keep their line.
- `REFUSALS`: one WARNING line per process at most every LOG_EVERY_SECONDS, with the counts since the
  last one; a refusal is reported within that time even if none follows it.
- `TaskChatter` (a filter on django-q2's logger "django-q"): its INFO lines for every task ("Enqueued",
  "processing", "Processed": three per heartbeat, i.e. per 5 s) become DEBUG. Its lines about the
  cluster (starting, stopping, a worker died) stay INFO.
- `Repeats` (on the console handler): the same warning or error again and again (every timer tick or
  event poll while the database is away) is one line per minute with the count left out.
- `redact` (the console handler's formatters): no secret reaches a line, whatever logged it: tokens and
  tickets in URLs (`?token=`, `?ticket=`), `Authorization: Bearer`, booking tokens (`b-` and 64 hex
  digits), order tokens, session and CSRF cookies. uvicorn's own loggers write through the same handler,
  and its access log stays off (a line per request says less than /metrics and would carry URLs).
"""

import contextlib
import logging
import re
import threading
import time
from collections import Counter

from pythonjsonlogger.json import JsonFormatter

LOG_EVERY_SECONDS = 5.0

log = logging.getLogger("core.refusals")


class RefusalSummary:
    """Counts refusals by kind and logs them at most once every LOG_EVERY_SECONDS (thread-safe)."""

    def __init__(self, every: float = LOG_EVERY_SECONDS) -> None:
        self.every = every
        self.counts: Counter[str] = Counter()
        self.logged_at = float("-inf")
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def count(self, kind: str) -> None:
        with self.lock:
            self.counts[kind] += 1
            wait = self.logged_at + self.every - time.monotonic()
            if wait <= 0:
                self._flush_locked()
            elif self.timer is None:  # report these within `every`, even if no refusal follows
                self.timer = threading.Timer(wait, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> None:
        with self.lock:
            self.timer = None
            if self.counts:
                self._flush_locked()

    def _flush_locked(self) -> None:
        total = sum(self.counts.values())
        kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(self.counts.items()))
        since = time.monotonic() - self.logged_at
        window = f"in the last {since:.0f} s" if since < 10 * self.every else "since the last report"
        log.warning("refused %d request(s) %s (%s)", total, window, kinds, extra={"refusals": dict(self.counts)})
        self.counts.clear()
        self.logged_at = time.monotonic()


REFUSALS = RefusalSummary()

REFUSAL_NAMES = {429: "429 throttled", 503: "503 busy"}


class RequestLog(logging.Filter):
    """On django.request (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is None:
            return True
        if status in REFUSAL_NAMES:
            REFUSALS.count(getattr(getattr(record, "request", None), "refusal", None) or REFUSAL_NAMES[status])
            return False
        return status >= 500


TASK_CHATTER = re.compile(r"^Enqueued \[|^Processed '| processing .*'")


class TaskChatter(logging.Filter):
    """On django-q2's logger (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and TASK_CHATTER.search(record.getMessage()):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


def name_refusal(request: object, kind: str) -> None:
    """Say what kind of refusal a request's 503 or 429 is, for the summary line (e.g. "503 busy (row lock)")."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's, which the log record carries
    with contextlib.suppress(AttributeError):  # not a request (None): nothing to name
        request.refusal = kind  # type: ignore[attr-defined]


REPEAT_WINDOW_SECONDS = 60.0


class Repeats(logging.Filter):
    """On the console handler: a WARNING or ERROR that repeats (same logger, level, message as formatted
    and exception type, e.g. "event relay poll failed" every 0.2 s while the database is away) is written
    once per REPEAT_WINDOW_SECONDS, the next time it comes after that saying how many were left out
    meanwhile. Only identical lines are folded: a 500 on another path or a gateway error for another
    order is a line of its own."""

    def __init__(self, window: float = REPEAT_WINDOW_SECONDS) -> None:
        super().__init__()
        self.window = window
        # (logger, message, level, exception type) -> (last written, left out since)
        self.seen: dict[tuple[str, str, int, str], tuple[float, int]] = {}
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.name == log.name:
            return True
        exc_type = record.exc_info[0].__qualname__ if record.exc_info and record.exc_info[0] else ""
        key, now = (record.name, record.getMessage(), record.levelno, exc_type), time.monotonic()
        with self.lock:
            written, left_out = self.seen.get(key, (float("-inf"), 0))
            if now - written < self.window:
                self.seen[key] = (written, left_out + 1)
                return False
            self.seen[key] = (now, 0)
            if len(self.seen) > 1000:  # many distinct messages: forget the oldest
                self.seen = dict(sorted(self.seen.items(), key=lambda item: item[1][0])[-500:])
        if left_out:
            record.msg = f"{record.msg} [{left_out} more like this in the last {now - written:.0f} s left out]"
        return True


REDACTED = "[redacted]"
SECRETS = [
    # `token=`, `csrftoken=`, `ticket=`, `sessionid=` in a URL, a cookie or a repr of either (a value ends
    # before a backslash too: in a JSON line, `\"` after it is the quote that closes the URL)
    re.compile(r"(?i)([\w-]*token|ticket|sessionid)(=|%3D)[^\s&;,'\"<>\\]+"),
    # `"token": "..."`, `'Authorization': '...'` in a JSON body or a dict's repr, also inside a JSON line's
    # string (`\"token\": \"...\"`), where the value stops before the backslash that closes it
    re.compile(r"(?i)([\w-]*token|ticket|authorization|cookie)(\\?['\"]?\s*:\s*\\?['\"])[^'\"\\]+"),
    re.compile(r"(?i)(bearer)(\s+)[^\s'\",;\\]+"),  # Authorization: Bearer <token>, in any header form
]
BOOKING_TOKEN = re.compile(r"\bb-[0-9a-f]{64}\b")
ORDER_TOKEN = re.compile(r"(?<![\w-])[\w-]{43}(?![\w-])")  # 32 random bytes, URL-safe base64 (and a ticket's MAC)


def redact(text: str) -> str:
    """`text` with every secret it carries replaced by "[redacted]"."""
    for pattern in SECRETS:
        text = pattern.sub(rf"\1\2{REDACTED}", text)
    return ORDER_TOKEN.sub(REDACTED, BOOKING_TOKEN.sub(f"b-{REDACTED}", text))


class RedactingFormatter(logging.Formatter):
    """The text format, redacted last: message, arguments, traceback and all (see `redact`)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingJsonFormatter(JsonFormatter):
    """The JSON format, redacted last: extra fields too (django.security's lines carry the request, whose
    repr is the full URL with its query)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def logging_config(*, log_format: str, level: str) -> dict:
    """settings.LOGGING: readable lines (`text`) or one JSON object a line (`json`), for every process."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"()": RedactingFormatter, "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {
                "()": RedactingJsonFormatter,
                "fmt": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["repeats"]}},
        "root": {"handlers": ["console"], "level": level},
        "filters": {"requests": {"()": RequestLog}, "task_chatter": {"()": TaskChatter}, "repeats": {"()": Repeats}},
        "loggers": {
            "django.request": {"level": "WARNING", "filters": ["requests"]},
            "django-q": {"filters": ["task_chatter"]},
            # One line per order change is the log of record; a line per request as well would double the log
            # (61% of it was order changes under the soak) and say less: /metrics has the requests.
            "uvicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
            # uvicorn's own lines through the console handler too (redacted), not through the one it set up.
            "uvicorn": {"handlers": ["console"], "propagate": False},
            "django_eventstream.views": {"level": "WARNING"},  # "added listener ..." at INFO for every stream
        },
    }
