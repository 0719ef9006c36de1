"""Idempotency-Key for POST endpoints: a retry replays the first answer instead of acting twice.

- same key, same body: the first response again (header `Idempotent-Replayed: true`), nothing redone;
- same key, another body: 422;
- same key while the first request is still running: 409 (retry later);
- a 5xx is not kept, so a retry after a server error runs again.
Keys are kept at least IDEMPOTENCY_KEEP_HOURS (24) and scoped by method and path. Use random keys
(UUIDs): for POST /orders the key is all that links a retry to its first answer.
"""

import datetime as dt
import hashlib
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from seatbooking.errors import Conflict, InvalidInput, ServiceError
from seatbooking.models import IdempotencyRecord

HEADER = "Idempotency-Key"


class KeyReused(ServiceError):
    status = 422
    code = "idempotency_key_reused"


def idempotent(view_method):
    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not 1 <= len(key) <= 255:
            raise InvalidInput(f"{HEADER} must be 1-255 characters; a UUID is best.", code="bad_idempotency_key")
        scope = f"{request.method} {request.path}"[:200]
        body_sha256 = hashlib.sha256(request.body).hexdigest()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, key=key, body_sha256=body_sha256)
        except IntegrityError:
            return _replay(scope, key, body_sha256)
        try:
            response = view_method(self, request, *args, **kwargs)
        except ServiceError as exc:  # a refusal is an answer too: keep it, then let DRF render it
            _keep(record, exc.status, {"error": exc.message, "code": exc.code, **exc.extra})
            raise
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
        else:
            _keep(record, response.status_code, response.data)
        return response

    return wrapper


def _keep(record: IdempotencyRecord, status: int, data) -> None:
    record.status_code, record.response = status, data
    record.save(update_fields=["status_code", "response"])


def _replay(scope: str, key: str, body_sha256: str) -> Response:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.body_sha256 != body_sha256:
        raise KeyReused(f"This {HEADER} was already used with a different body. Use a new key for a new request.")
    if record.status_code is None:
        raise Conflict(f"A request with this {HEADER} is still being processed. Retry in a moment.",
                       code="idempotency_key_in_use")
    return Response(record.response, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def forget_old_keys() -> int:
    cutoff = timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
