"""The domain's refusals. Services raise them; api/exceptions.py maps each kind to an
HTTP status, so the admin, management commands and workers call services without DRF."""


class DomainError(Exception):
    """A service refused a change: `message` is for people, `code` for programs, and
    `extra` holds more facts for the problem document (e.g. the current status)."""

    message = "The request was refused."
    code = "refused"

    def __init__(self, message: str | None = None, *, code: str | None = None, **extra):
        self.message = message or self.message
        self.code = code or self.code
        self.extra = extra
        super().__init__(self.message)


class NotFound(DomainError):
    """Nothing the caller may see is there (404): the same answer for what does not exist
    and for what they may not see."""

    message = "Not found."
    code = "not_found"


class NotAllowed(DomainError):
    """The caller may not do this (403)."""

    message = "You do not have permission to perform this action."
    code = "permission_denied"


class Conflict(DomainError):
    """Valid, but in conflict with the resource's current state (409)."""

    message = "The request conflicts with the current state of the resource."
    code = "conflict"


class PreconditionFailed(DomainError):
    """The row changed since the caller read it: the version they based the change on is
    no longer the current one (412)."""

    message = "The resource has changed since you read it (If-Match did not match)."
    code = "precondition_failed"
