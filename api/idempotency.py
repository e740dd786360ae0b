"""Idempotent creation: a POST retried with the same Idempotency-Key gets the first
answer back instead of creating twice."""

import hashlib
import json
import logging

from django.core.cache import cache
from django.db import transaction
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

IDEMPOTENCY_TTL = 24 * 3600


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used with a different request body."
    default_code = "idempotency_key_reused"


class IdempotencyKeyInProgress(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "A request with this Idempotency-Key is still being processed; retry."
    default_code = "idempotency_key_in_progress"


class IdempotentCreateMixin:
    """`POST` with an `Idempotency-Key` header: a retry with the same key and body within
    24 hours gets the first response back instead of creating a duplicate; the same
    key with another body is a 422. Keys are per user; records live in the cache. A replay
    is only for a caller who may still see what was created (`check_replay`).

    If the cache cannot be reached the request is served as if it had no key (availability
    over exactly-once: a retry during the outage may create a duplicate)."""

    def create(self, request, *args, **kwargs):
        create = super().create
        return self.create_once(request, lambda: create(request, *args, **kwargs))

    def create_once(self, request, create):
        """Call `create()` (which returns the response) at most once per Idempotency-Key;
        a view that writes its own `create` calls this from it."""
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return create()
        if not 1 <= len(key) <= 255:
            raise exceptions.ValidationError({"Idempotency-Key": "1 to 255 characters."})
        digest = hashlib.sha256(f"{request.user.pk}:{key}".encode()).hexdigest()
        record_key, lock_key = f"idem:{digest}", f"idem:{digest}:lock"
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path} ".encode()
            + json.dumps(request.data, sort_keys=True, default=str).encode()
        ).hexdigest()

        try:
            record = cache.get(record_key)
            locked = record is None and cache.add(lock_key, 1, timeout=60)
        except Exception:
            logger.warning(
                "Idempotency cache unavailable; creating without the key", exc_info=True
            )
            return create()
        if record is None:
            if not locked:
                raise IdempotencyKeyInProgress()
            try:
                response = create()
                if 200 <= response.status_code < 300:
                    record = {
                        "fingerprint": fingerprint,
                        "status": response.status_code,
                        "data": response.data,
                    }
                    # robust: the row is committed; a lost cache write must not turn it into a 500
                    transaction.on_commit(
                        lambda: cache.set(record_key, record, timeout=IDEMPOTENCY_TTL),
                        robust=True,
                    )
                return response
            finally:
                try:
                    cache.delete(lock_key)
                except Exception:  # the lock expires on its own
                    logger.warning("Could not release idempotency lock", exc_info=True)
        if record["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused()
        self.check_replay(record["data"])
        return Response(
            record["data"], status=record["status"], headers={"Idempotent-Replayed": "true"}
        )

    def check_replay(self, data) -> None:
        """404 unless the caller may still see the object the first response created (by
        its `id`), 403 unless they may still create it; otherwise the replay goes ahead.

        A replay is the same request again, so it passes the checks that request would
        pass now, through the view's own queryset (visibility) and permissions, and only
        then answers the stored outcome instead of writing. A member removed from a private
        project gets the 404 of any hidden object, not the issue they made there; a deleted
        object is gone, a 404 too. A caller who still sees it but lost the right to create
        (demoted, project archived) gets the 403 the nested URLs' permission checks already
        give before a replay is looked up, whichever URL the create was sent to."""
        created = get_object_or_404(self.get_queryset(), pk=data["id"])
        self.check_object_permissions(self.request, created)
