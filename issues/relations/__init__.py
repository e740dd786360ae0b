"""Relations between issues; their writes and rules are in `services` (one module, named so
that it may take row locks)."""

from .services import *  # noqa: F403
from .services import (  # noqa: F401
    NAMES,
    TYPE_NAMES,
    announce_unblocked,
    ensure_may_finish,
    parent_set,
    relation_create,
    relation_delete,
    relations_delete_with,
    relations_of,
)
