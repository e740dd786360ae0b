"""The version a write was based on, checked by the service that writes under its row lock.

A service that changes a row takes `expected: Expected | None`. It opens the transaction,
locks the row once (`lock_for_write`), and compares: if the row's version is no longer
what the caller read, nothing changes and `PreconditionFailed` (412) is raised. Callers
say what "version" means for them: the API compares the ETag of the resource's JSON (the
client's If-Match, api/conditional.py), the admin the `updated_at` it rendered. No HTTP
here, so the admin, commands and workers use it too.
"""

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


def lock_for_write(queryset: QuerySet, pk, expected: Expected | None = None) -> Model:
    """The row `pk` of `queryset`, read again and locked until the transaction ends, after
    checking it is still the version the caller expected. Call it inside the service's
    `transaction.atomic`; only the row itself is locked (not the rows it joins)."""
    row = queryset.select_for_update(of=("self",)).get(pk=pk)
    if expected is not None:
        expected.check(row)
    return row
