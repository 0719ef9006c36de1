"""Idempotency-Key for POST endpoints: a retry replays the first answer instead of acting twice.

- same key, same body: the first answer again (header `Idempotent-Replayed: true`), nothing redone;
- same key, another body: 422;
- same key while the first request still runs: the retry waits for it, then replays its answer; on
  PostgreSQL it waits at most IDEMPOTENCY_WAIT_SECONDS (3), then gets 409 `idempotency_key_in_use`
  with a Retry-After header. The wait is kept under the serving processes' bounds on a statement
  (DB_STATEMENT_TIMEOUT_SECONDS, and our own on an answer, core/database.py) by WAIT_MARGIN_SECONDS:
  were it longer, they would cut it first and the retry would get 503 `database_unavailable` instead;
- a 5xx is not kept, so a retry after a server error runs again; nor is a 429 (a client's limit: "try
  again later"), so the retry made after its Retry-After runs again rather than being told the refusal.

Surviving a crash: the claim on a key and the change it guards commit together. The wrapper opens one
transaction, inserts the key's record first, runs the view inside it (the services' own atomic blocks
become savepoints), stores the answer in the record and commits. The claim is thus a lease held by the
request's own transaction: a request that dies before its commit (process killed, connection lost) leaves
neither its change nor the record, and PostgreSQL ends the dead connection's transaction at once, so the
retry runs cleanly (the services' state checks decide, as for any request); once committed, the answer
is there to replay. A retry that arrives while the first request runs waits on the record's unique index.
A first request that hangs while alive holds the key at most IDEMPOTENCY_LEASE_SECONDS (30), its own time
limit: its transaction runs with that `idle_in_transaction_session_timeout` and `statement_timeout`, so
PostgreSQL ends its session (rolling it back) when it sits idle or stuck in one statement that long.
On SQLite, IMMEDIATE transactions serialise writers: the second request waits (the database timeout,
20 s) and replays.
A refusal (a ServiceError, e.g. 409 hold_expired) is an answer: it is stored and committed together with
whatever the service committed before refusing (e.g. the expiry it found), then rendered as usual; a 429
commits the same but deletes the key's record instead of storing the answer. A 5xx and any other exception
roll everything back: nothing half-done, nothing kept.

Keys must be 16-255 characters and unguessable (a random UUID): the key links a retry to its first answer
and, for POST /orders, to the order's bearer token. A key is bound to the client that first used it (its
address, IPv6 by its /64, browser session and credentials: `client_digest`): only that client's retry is
answered; another client presenting the key and the same body gets 409 `idempotency_key_other_client`.
A shorter key is a 400 `bad_idempotency_key`. Keys are scoped by method and path
and kept at least IDEMPOTENCY_KEEP_HOURS (24).

No secret is stored: the table holds the key only as an HMAC digest (keyed by SECRET_KEY), the body as
its SHA-256, and the answer without its bearer token. With a key, POST /orders derives the order's token
from it (HMAC-SHA256 keyed by SECRET_KEY over purpose, scope, key and order id; see DerivedSecret) and
derives it again on replay: a client that lost the first answer still gets its token, while the table
alone reveals nothing. Changing SECRET_KEY ends the replay of keys used before (they run anew).
"""

import base64
import datetime as dt
import hashlib
import math
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.response import Response

from core import browser_session, client_address, idempotency_sql
from core.errors import InvalidInput, ServiceError
from core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MIN_KEY_LENGTH, MAX_KEY_LENGTH = 16, 255
KEY_SALT = "seatbooking.idempotency.key"  # also in migration 0003, which digested the keys stored before
# PostgreSQL's SQLSTATEs when the wait for the key runs out: lock_timeout, or statement_timeout if it is shorter
WAIT_RAN_OUT = {"55P03", "57014"}
# The wait for a key ends at least this long before a serving process's bound on a statement would end it.
WAIT_MARGIN_SECONDS = 0.5
# A refusal that says "try again later" (a client's limit, 429) answers the moment, not the request: not kept.
TRY_AGAIN_LATER = 429


class KeyReused(ServiceError):
    status = 422
    code = "idempotency_key_reused"


class KeyOfAnotherClient(ServiceError):
    status = 409
    code = "idempotency_key_other_client"


CLIENT_SALT = "seatbooking.idempotency.client"


def client_digest(request) -> str:
    """Who presents a key: the client's address as limits count it (IPv6 by its /64), its browser session
    and the credentials it sent (Authorization), as one keyed digest. A retry comes from the same client;
    another client with the key and the body is refused (409), never handed the first answer and its token."""
    session_key = browser_session.session_key(request)
    address = client_address.address_key(client_address.of(request))
    credentials = request.META.get("HTTP_AUTHORIZATION", "")
    return salted_hmac(CLIENT_SALT, f"{address}\0{session_key}\0{credentials}", algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class Claim:
    """The Idempotency-Key of the request being served, and where it was used (method and path)."""

    scope: str
    key: str

    @property
    def digest(self) -> str:
        return salted_hmac(KEY_SALT, f"{self.scope}\0{self.key}", algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class DerivedSecret:
    """A secret in an answer (an order's bearer token) derived from the Idempotency-Key instead of stored.

    The view makes the secret with `for_request`; the wrapper leaves it out of the stored answer and
    derives it again on replay from the key and the answer's `subject_field` (e.g. the order id).
    """

    field: str  # the answer's key that holds the secret, e.g. "token"
    purpose: str  # keeps derivations for different uses apart, e.g. "order-token"
    subject_field: str  # the answer's key naming what the secret belongs to, e.g. "orderID"

    def for_request(self, request, subject: str) -> str | None:
        """The secret for `subject` derived from this request's key; None for a request without a key."""
        claim = getattr(request, "idempotency_claim", None)
        return None if claim is None else self.derive(claim, subject)

    def derive(self, claim: Claim, subject: str) -> str:
        mac = salted_hmac(
            f"seatbooking.idempotency.{self.purpose}", f"{claim.scope}\0{claim.key}\0{subject}", algorithm="sha256"
        )
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()  # 43 characters, as before


class _AlreadyClaimed(Exception):
    """The key has a committed record: replay it."""


class _Busy(Exception):
    """The key's first request still runs and the wait bound ran out."""


class _NotKept(Exception):
    """A 5xx answer (a response or a ServiceError): roll everything back and pass the answer on."""

    def __init__(self, answer) -> None:
        self.answer = answer


def idempotent(view_method=None, *, derived: tuple[DerivedSecret, ...] = ()):
    """Decorate a DRF view method; `derived` lists secrets in its answer to derive from the key, not store."""
    if view_method is None:
        return lambda method: idempotent(method, derived=derived)

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not MIN_KEY_LENGTH <= len(key) <= MAX_KEY_LENGTH:
            raise InvalidInput(
                f"{HEADER} must be {MIN_KEY_LENGTH}-{MAX_KEY_LENGTH} characters and unguessable: "
                "use a random UUID. The key is what links a retry to its first answer.",
                code="bad_idempotency_key",
            )
        claim = Claim(scope=f"{request.method} {request.path}"[:200], key=key)
        body_sha256 = hashlib.sha256(request.body).hexdigest()
        client = client_digest(request)
        request.idempotency_claim = claim
        refusal = None
        for _ in range(2):  # a second round only if the record we collided with was deleted meanwhile
            try:
                with transaction.atomic():
                    _claim(claim, body_sha256, client)
                    try:
                        response = view_method(self, request, *args, **kwargs)
                    except ServiceError as exc:  # a refusal is an answer too: keep it, then let DRF render it
                        refusal = exc
                        status, data = exc.status, {"error": exc.message, "code": exc.code, **exc.extra}
                    else:
                        status, data = response.status_code, response.data
                    if status >= 500:
                        raise _NotKept(refusal or response)
                    record = IdempotencyRecord.objects.filter(scope=claim.scope, key_digest=claim.digest)
                    if status == TRY_AGAIN_LATER:
                        record.delete()  # the key is released: the retry after Retry-After runs afresh
                    else:
                        record.update(status_code=status, response=_without_secrets(claim, data, derived))
                    if settings.IDEMPOTENCY_DEBUG_PAUSE_SECONDS:
                        # Tests only (default 0): widens the window between the change and its commit so
                        # that a test can kill the process inside it.
                        time.sleep(settings.IDEMPOTENCY_DEBUG_PAUSE_SECONDS)
            except _AlreadyClaimed:
                replay = _replay(claim, body_sha256, client, derived)
                if replay is not None:
                    return replay
                continue
            except _Busy:
                return _busy()
            except _NotKept as not_kept:
                if isinstance(not_kept.answer, ServiceError):
                    raise not_kept.answer from None
                return not_kept.answer
            if refusal is not None:
                raise refusal
            return response
        return _busy()

    return wrapper


def _claim(claim: Claim, body_sha256: str, client: str) -> None:
    """Insert the key's record in the current transaction; waits while another transaction holds the key."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        wait_ms = max(1, round(wait_seconds() * 1000))
        lease_ms = max(1, round(settings.IDEMPOTENCY_LEASE_SECONDS * 1000))
        with connection.cursor() as cursor:  # SET LOCAL: for this transaction only
            cursor.execute(idempotency_sql.BOUND_WAITS, [f"{wait_ms}ms", f"{lease_ms}ms", f"{lease_ms}ms"])
    try:
        # status_code 0 until the answer is stored in this same transaction: never visible to others.
        IdempotencyRecord.objects.create(
            scope=claim.scope, key_digest=claim.digest, body_sha256=body_sha256, client_digest=client, status_code=0
        )
    except IntegrityError:
        raise _AlreadyClaimed from None
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) in WAIT_RAN_OUT:
            raise _Busy from None
        raise
    if postgres:  # the wait bound is for the key only: the view's own lock waits are as without a key
        with connection.cursor() as cursor:
            cursor.execute(idempotency_sql.DEFAULT_LOCK_TIMEOUT)


def _without_secrets(claim: Claim, data, derived: tuple[DerivedSecret, ...]):
    if not derived or not isinstance(data, dict):
        return data
    kept = dict(data)
    for secret in derived:
        if secret.field in kept and kept.pop(secret.field) != secret.derive(claim, str(kept.get(secret.subject_field))):
            # A replay would hand out another secret: refuse to keep an answer that cannot be replayed.
            raise RuntimeError(
                f"{secret.field!r} was not made with {secret.purpose!r}.for_request(); "
                "it cannot be derived again on replay."
            )
    return kept


def _replay(claim: Claim, body_sha256: str, client: str, derived: tuple[DerivedSecret, ...]) -> Response | None:
    record = IdempotencyRecord.objects.filter(scope=claim.scope, key_digest=claim.digest).first()
    if record is None:
        return None
    if record.client_digest and record.client_digest != client:
        raise KeyOfAnotherClient(
            f"This {HEADER} was first used by another client (another address, browser session or credentials), "
            "so its answer is not yours to replay. Use a new key (a random UUID) for your own request."
        )
    if record.body_sha256 != body_sha256:
        raise KeyReused(f"This {HEADER} was already used with a different body. Use a new key for a new request.")
    data = record.response
    if isinstance(data, dict) and record.status_code < 300:
        data = dict(data)
        for secret in derived:
            if secret.subject_field in data:
                data[secret.field] = secret.derive(claim, str(data[secret.subject_field]))
    return Response(data, status=record.status_code, headers={"Idempotent-Replayed": "true"})


def wait_seconds() -> float:
    """How long a retry waits for its key: IDEMPOTENCY_WAIT_SECONDS, clamped below the bounds on a statement."""
    wait = settings.IDEMPOTENCY_WAIT_SECONDS
    bounds = [b for b in (settings.DB_STATEMENT_TIMEOUT_SECONDS, settings.DB_ANSWER_TIMEOUT_SECONDS) if b > 0]
    if bounds:  # a serving process (one-off processes run without them)
        wait = min(wait, max(0.1, min(bounds) - WAIT_MARGIN_SECONDS))
    return wait


def _busy() -> Response:
    wait = max(1, math.ceil(wait_seconds()))
    return Response(
        {
            "error": f"A request with this {HEADER} is still being processed. Retry in {wait} s: "
            "you will get its answer.",
            "code": "idempotency_key_in_use",
            "retry_after": wait,
        },
        status=409,
        headers={"Retry-After": str(wait)},
    )


def forget_old_keys() -> int:
    cutoff = timezone.now() - dt.timedelta(hours=settings.IDEMPOTENCY_KEEP_HOURS)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
