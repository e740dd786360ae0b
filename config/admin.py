"""Admin pieces every app's admin uses."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect

from config.errors import DomainError


def refusal(error) -> str:
    """A service's refusal (a ValidationError or a domain error) as one readable line."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return error.message


class ServiceRefusalsAsMessages:
    """Shows a refusal raised by a service while saving, deleting or running an action as
    an error message on the page it came from, not a server error. The admin's change and
    delete views are atomic, so nothing of the refused change is kept; an action must
    refuse before it writes."""

    def changelist_view(self, request, *args, **kwargs):  # where actions run
        return self._or_message(super().changelist_view, request, *args, **kwargs)

    def changeform_view(self, request, *args, **kwargs):
        return self._or_message(super().changeform_view, request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        return self._or_message(super().delete_view, request, *args, **kwargs)

    def _or_message(self, view, request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (ValidationError, DomainError) as e:
            self.message_user(request, refusal(e), messages.ERROR)
            return redirect(request.get_full_path())
