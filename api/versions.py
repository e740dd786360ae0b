"""The version a write was based on, checked by the service that writes under its row lock.

A service that changes a row takes `expected: Expected | None`. It opens the transaction,
locks the row once (`lock_for_write`), and compares: if the row's version is no longer
what the caller read, nothing changes and `PreconditionFailed` (412) is raised. Callers
say what "version" means for them: the API compares the ETag of the resource's JSON (the
client's If-Match, api/conditional.py), the admin the version it rendered with the form
(`updated_at_version`, or `row_version` for rows without an `updated_at`). No HTTP here,
so the admin, commands and workers use it too.
"""

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Model, QuerySet

from api.errors import PreconditionFailed


@dataclass(frozen=True)
class Expected:
    """The versions the caller accepts (`values`; several for an If-Match list) and how to
    compute the current one from the locked row (`version_of`)."""

    values: frozenset[str]
    version_of: Callable[[Model], str]

    @classmethod
    def of(cls, values: str | Iterable[str], version_of: Callable[[Model], str]) -> "Expected":
        return cls(frozenset([values] if isinstance(values, str) else values), version_of)

    def check(self, obj: Model) -> None:
        if self.version_of(obj) not in self.values:
            raise PreconditionFailed()


def updated_at_version(obj: Model) -> str:
    """A row's version as the admin renders it: its `updated_at` to the microsecond."""
    return obj.updated_at.isoformat()


def row_version(obj: Model) -> str:
    """A row's version from every stored value, for rows without an `updated_at` (a label,
    a membership) or whose columns also change without one (a webhook's failures)."""
    values = [(f.attname, f.value_to_string(obj)) for f in obj._meta.concrete_fields]
    return hashlib.sha256(json.dumps(values, default=str).encode()).hexdigest()[:40]


def lock_for_write(queryset: QuerySet, pk, expected: Expected | None = None) -> Model:
    """The row `pk` of `queryset`, read again and locked until the transaction ends, after
    checking it is still the version the caller expected. Call it inside the service's
    `transaction.atomic`; only the row itself is locked (not the rows it joins)."""
    if pk is None:
        raise ValueError("A row that was never saved cannot be locked.")
    return lock_one_for_write(queryset.filter(pk=pk), expected)


def lock_one_for_write(queryset: QuerySet, expected: Expected | None = None) -> Model:
    """lock_for_write for the one row `queryset` selects by other means (an issue by its
    key, as the caller may see it); the model's DoesNotExist if it selects none."""
    row = queryset.select_for_update(of=("self",)).get()
    if expected is not None:
        expected.check(row)
    return row
