from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from api.admin import SafeAutocompleteFields, ServiceRefusalsAsMessages, VersionedForm, refusal
from api.errors import DomainError
from api.versions import row_version

from . import services
from .models import Membership, Project, Role

LAST_OWNER = "A project must keep at least one owner; add another owner first."


def _ensure_active(project: Project | None) -> None:
    if project is not None and project.is_archived:
        raise ValidationError(services.ProjectArchived.message)


class MembershipInlineFormSet(forms.BaseInlineFormSet):
    """Checks the project's members as a whole: the project keeps an owner, and a row
    keeps its user (remove the member and add the other user instead)."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if self.has_changed():
            _ensure_active(self.instance)
        owners = 0
        for form in self.forms:
            if not form.has_changed() and form.instance.pk is None:
                continue  # an empty extra row
            if self._should_delete_form(form):
                continue
            if form.instance.pk is not None and "user" in form.changed_data:
                form.add_error("user", "A membership's user cannot change; add a new member.")
            owners += form.cleaned_data.get("role") == Role.OWNER
        if owners == 0:
            raise ValidationError(LAST_OWNER)


class MembershipInline(SafeAutocompleteFields, admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    extra = 0
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at"]


class ProjectAdminForm(VersionedForm):
    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is not None:
            _ensure_active(self.instance)
        return cleaned


@admin.register(Project)
class ProjectAdmin(SafeAutocompleteFields, ServiceRefusalsAsMessages, admin.ModelAdmin):
    form = ProjectAdminForm
    list_display = ["key", "name", "visibility", "created_by", "created_at", "archived_at"]
    list_filter = ["visibility", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["key", "name"]
    list_select_related = ["created_by"]
    autocomplete_fields = ["created_by"]
    readonly_fields = ["created_at", "updated_at", "archived_at", "last_issue_number"]
    inlines = [MembershipInline]
    actions = ["archive", "unarchive"]

    def get_readonly_fields(self, request, obj=None):
        # The key is part of every issue key; it cannot change once issued.
        fields = self.readonly_fields
        return [*fields, "key", "created_by"] if obj is not None else fields

    def get_changeform_initial_data(self, request):
        return {"created_by": request.user.pk, **super().get_changeform_initial_data(request)}

    def get_inlines(self, request, obj):
        # A new project's first member is its creator (its owner, by project_create).
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("name", "description", "visibility")}
        if change:
            # The service reads the stored project (the form changed `obj`) and compares
            # its version with the one the form showed.
            services.project_update(
                project=obj, actor=request.user, expected=form.expected(), **fields
            )
        else:
            created = services.project_create(
                creator=form.cleaned_data["created_by"], key=form.cleaned_data["key"], **fields
            )
            obj.pk = created.pk

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        # Collect what changed without saving, then apply it through the services:
        # additions and promotions first, so a project never lacks an owner in between.
        formset.save(commit=False)
        project = form.instance
        formset.new_objects = [
            services.membership_add(
                project=project, user=new.user, role=new.role, actor=request.user
            )
            for new in formset.new_objects
        ]
        changed = sorted(formset.changed_objects, key=lambda pair: -pair[0].role)
        # The services read each stored membership (the formset changed these copies).
        for membership, _ in changed:
            services.membership_change_role(
                membership=membership, role=membership.role, actor=request.user
            )
        for membership in formset.deleted_objects:
            services.membership_remove(membership=membership, actor=request.user)

    def delete_model(self, request, obj):
        # Through the service, so the deletion is announced (events).
        services.project_delete(project=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for project in queryset:
            services.project_delete(project=project, actor=request.user)

    @admin.action(description="Archive (read-only)")
    def archive(self, request, queryset):
        for project in queryset:
            services.project_archive(project=project, actor=request.user)
        self.message_user(request, f"Archived {queryset.count()} project(s).", messages.SUCCESS)

    @admin.action(description="Unarchive")
    def unarchive(self, request, queryset):
        for project in queryset:
            services.project_unarchive(project=project, actor=request.user)
        self.message_user(request, f"Unarchived {queryset.count()} project(s).", messages.SUCCESS)


class MembershipAdminForm(VersionedForm):
    version_of = staticmethod(row_version)  # a membership has no updated_at

    def clean(self):
        cleaned = super().clean()
        _ensure_active(cleaned.get("project") or getattr(self.instance, "project", None))
        return cleaned


@admin.register(Membership)
class MembershipAdmin(SafeAutocompleteFields, ServiceRefusalsAsMessages, admin.ModelAdmin):
    """Adding, changing and removing go through the membership services, so the last
    owner of a project can be neither demoted nor removed here."""

    form = MembershipAdminForm
    list_display = ["project", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "project__key", "project__name"]
    list_select_related = ["project", "user"]
    autocomplete_fields = ["project", "user"]
    actions = ["remove"]

    def get_readonly_fields(self, request, obj=None):
        return ["project", "user", "created_at"] if obj is not None else ["created_at"]

    def get_actions(self, request):
        # Django's bulk delete would bypass the last-owner rule; `remove` keeps it.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        role = form.cleaned_data["role"]
        if change:
            services.membership_change_role(
                membership=obj, role=role, actor=request.user, expected=form.expected()
            )
        else:
            created = services.membership_add(
                project=form.cleaned_data["project"],
                user=form.cleaned_data["user"],
                role=role,
                actor=request.user,
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        services.membership_remove(membership=obj, actor=request.user)

    @admin.action(description="Remove selected memberships", permissions=["delete"])
    def remove(self, request, queryset):
        removed = 0
        for membership in queryset.select_related("project", "user"):
            try:
                services.membership_remove(membership=membership, actor=request.user)
                removed += 1
            except (ValidationError, DomainError) as e:
                self.message_user(request, f"{membership}: {refusal(e)}", messages.WARNING)
        if removed:
            self.message_user(request, f"Removed {removed} membership(s).", messages.SUCCESS)
