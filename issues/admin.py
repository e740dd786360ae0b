from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from comments.models import Comment
from config.admin import ServiceRefusalsAsMessages, refusal
from config.errors import DomainError
from projects.services import ProjectArchived

from . import services
from .models import Issue, IssueEvent, Label


class CommentInline(admin.TabularInline):
    """The issue's comments, read-only: they are written and edited on their own admin
    page, which goes through the comment services."""

    model = Comment
    extra = 0
    can_delete = False
    fields = ["author", "body", "created_at", "edited"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class IssueEventInline(admin.TabularInline):
    model = IssueEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "actor", "kind", "from_status", "to_status", "field", "new_value"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _transition_action(target: str):
    def run(modeladmin, request, queryset):
        done = 0
        for issue in queryset.select_related("project"):
            try:
                services.issue_transition(issue=issue, user=request.user, status=target)
                done += 1
            except (DomainError, ValidationError) as e:
                modeladmin.message_user(request, f"{issue.key}: {refusal(e)}", messages.WARNING)
        if done:
            modeladmin.message_user(
                request, f"Moved {done} issue(s) to {target}.", messages.SUCCESS
            )

    run.__name__ = f"move_to_{target}"
    run.short_description = f"Move to {target.replace('_', ' ')} (through the workflow)"
    return run


class IssueAdminForm(forms.ModelForm):
    """Runs the services' checks as form validation, so a refusal is shown on the
    form instead of failing in save_model."""

    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project")
        if project is None and self.instance.project_id is not None:
            project = self.instance.project
        if project is not None:
            if project.is_archived:
                raise ValidationError(ProjectArchived.message)
            services._check_assignee(project, cleaned.get("assignee"))
            services._check_labels(project, cleaned.get("labels") or [])
        return cleaned


@admin.register(Issue)
class IssueAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    form = IssueAdminForm
    list_display = ["key", "title", "status", "priority", "type", "assignee", "updated_at"]
    list_filter = ["status", "priority", "type", "project"]
    search_fields = ["title", "project__key", "=number"]
    list_select_related = ["project", "assignee"]
    autocomplete_fields = ["project", "assignee"]
    filter_horizontal = ["labels"]
    # Status changes only through the workflow actions below, never the form; the
    # reporter is whoever created the issue.
    readonly_fields = [
        "reporter",
        "status",
        "resolution",
        "number",
        "created_at",
        "updated_at",
        "resolved_at",
        "closed_at",
    ]
    inlines = [CommentInline, IssueEventInline]
    actions = [_transition_action(status) for status in Issue.Status.values]

    @admin.display(description="key", ordering="number")
    def key(self, obj):
        return obj.key

    def get_search_results(self, request, queryset, search_term):
        # Operators search by the key people quote (WEB-42) as well as by text.
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if "-" in search_term:
            results |= queryset.by_key(search_term.strip())
        return results, may_have_duplicates

    def get_readonly_fields(self, request, obj=None):
        # Issue numbers belong to their project, so an issue never moves to another.
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "project"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        if change:
            fields = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in services.TRACKED_FIELDS
            }
            # The service compares with the stored row, not with `obj`, which
            # already carries the form's values.
            services.issue_update(issue=obj, actor=request.user, **fields)
        else:
            data = {
                name: form.cleaned_data[name]
                for name in (
                    "title",
                    "description",
                    "type",
                    "priority",
                    "assignee",
                    "labels",
                    "due_date",
                )
            }
            created = services.issue_create(
                project=form.cleaned_data["project"], reporter=request.user, **data
            )
            obj.pk, obj.number = created.pk, created.number

    def delete_model(self, request, obj):
        services.issue_delete(issue=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for issue in queryset.select_related("project"):
            services.issue_delete(issue=issue)


class LabelAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        if project is not None and project.is_archived:
            raise ValidationError(ProjectArchived.message)
        return cleaned


@admin.register(Label)
class LabelAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    form = LabelAdminForm
    list_display = ["name", "project", "color", "description"]
    list_filter = ["project"]
    search_fields = ["name", "project__key"]
    list_select_related = ["project"]
    autocomplete_fields = ["project"]

    def get_readonly_fields(self, request, obj=None):
        # Issues of its project carry the label; it never moves to another project.
        return ["project"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in ("name", "color", "description")}
        if change:
            services.label_update(label=obj, **fields)
        else:
            obj.pk = services.label_create(project=form.cleaned_data["project"], **fields).pk

    def delete_model(self, request, obj):
        services.label_delete(label=obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for label in queryset.select_related("project"):
            services.label_delete(label=label)


@admin.register(IssueEvent)
class IssueEventAdmin(admin.ModelAdmin):
    list_display = ["issue", "kind", "actor", "from_status", "to_status", "field", "created_at"]
    list_filter = ["kind", "to_status"]
    search_fields = ["issue__project__key", "=issue__number", "actor__username", "field"]
    list_select_related = ["issue__project", "actor"]
    readonly_fields = [f.name for f in IssueEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
