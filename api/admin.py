"""Admin pieces every app's admin uses."""

from django import forms
from django.contrib import messages
from django.contrib.admin import widgets
from django.core.exceptions import ValidationError
from django.shortcuts import redirect

from api.errors import DomainError, PreconditionFailed
from api.versions import Expected, updated_at_version

STALE = (
    "Someone else changed this since you opened it, so nothing was saved: "
    "here it is as it is now; make your change again."
)


def refusal(error) -> str:
    """A service's refusal (a ValidationError or a domain error) as one readable line."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    if isinstance(error, PreconditionFailed):
        return STALE
    return error.message


class VersionedForm(forms.ModelForm):
    """A change form that carries the version of the row it was rendered from, in a hidden
    `version`: `save_model` passes `expected()` to the service, which compares it with the
    row it locks (api/versions.py), so of two operators editing one row the second is
    refused instead of overwriting the first. `version_of` is the model's version:
    `updated_at_version`, or `row_version` for rows without an `updated_at`."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)
    version_of = staticmethod(updated_at_version)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["version"].initial = self.version_of(self.instance)

    def expected(self) -> Expected | None:
        """The version the operator's page showed (None on an add page, or if not posted)."""
        version = self.cleaned_data.get("version")
        return Expected.of(version, self.version_of) if version else None


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


class AutocompleteSelect(widgets.AutocompleteSelect):
    """Django's, except that a value that is no key (a typed `?project=abc`, a hand-made
    POST, a number past the column's range) shows as no choice instead of failing the
    query that looks its label up; the form's field reports it."""

    def optgroups(self, name, value, attr=None):
        key = self.field.target_field
        return super().optgroups(name, [v for v in value if _is_key(key, v)], attr)


def _is_key(field, value) -> bool:
    try:
        field.run_validators(field.to_python(value))
    except ValidationError:
        return False
    return True


class SafeAutocompleteFields:
    """Uses the AutocompleteSelect above for the ModelAdmin's `autocomplete_fields`."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = AutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdmin:
    """For records the service writes (history, deliveries, mails, jobs): operators look,
    and never add or change one by hand. Put first among a ModelAdmin's bases; those that
    may not be deleted either say `deletable = False`."""

    deletable = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
