from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from api.admin import (
    ReadOnlyAdmin,
    SafeAutocompleteFields,
    ServiceRefusalsAsMessages,
    VersionedForm,
    refusal,
)
from api.errors import DomainError
from api.versions import Expected, row_version, updated_at_version
from comments.models import Comment
from projects.models import Project
from projects.services import ProjectArchived

from . import (
    comment_admin,  # noqa: F401  (registers the Comment admin)
    services,
)
from .models import Issue, IssueEvent, IssueRelation, Label
from .relations.services import TYPE_NAMES, relation_create


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


class RelationInline(admin.TabularInline):
    """An issue's relations, read-only, only those whose other issue the operator could
    see through the API (a site admin sees all): they are added through the service,
    with its rules, by the form's "Relate to" fields, and removed through the API."""

    model = IssueRelation
    extra = 0
    can_delete = False
    readonly_fields = ["reads", "other", "other_status", "created_by", "created_at"]
    fields = readonly_fields
    side = "source"  # the issue of the page is this side; the other issue is the other

    @property
    def other_side(self) -> str:
        return "target" if self.side == "source" else "source"

    def get_queryset(self, request):
        visible = Project.objects.visible_to(request.user).values("pk")
        return (
            super()
            .get_queryset(request)
            .filter(**{f"{self.other_side}__project__in": visible})
            .select_related(f"{self.other_side}__project", "created_by")
        )

    @admin.display(description="relation")
    def reads(self, relation):
        return relation.type if self.side == "source" else IssueRelation.INVERSE[relation.type]

    @admin.display(description="issue")
    def other(self, relation):
        other = getattr(relation, self.other_side)
        url = reverse("admin:issues_issue_change", args=[other.pk])
        return format_html('<a href="{}">{}</a>: {}', url, other.key, other.title)

    @admin.display(description="status")
    def other_status(self, relation):
        return getattr(relation, self.other_side).status

    def has_view_permission(self, request, obj=None):
        # Part of the issue, as its comments are: whoever may view the issue sees them.
        return request.user.has_perm("issues.view_issue") or request.user.has_perm(
            "issues.change_issue"
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class RelationsOutInline(RelationInline):
    fk_name = "source"
    verbose_name_plural = "Relations (blocks, duplicate of, relates to, parent)"


class RelationsInInline(RelationInline):
    fk_name = "target"
    side = "target"
    verbose_name_plural = "Relations to this issue (blocked by, duplicated by, relates to)"

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(type=IssueRelation.Type.PARENT)


class ChildrenInline(RelationInline):
    fk_name = "target"
    side = "target"
    verbose_name_plural = "Sub-issues"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(type=IssueRelation.Type.PARENT)


def _default_resolution(target: str) -> str:
    """The resolution the workflow assumes when none is given (resolve: fixed), or ""."""
    for transition in services.STATUS_FIELD.get_all_transitions(Issue):
        if transition.target == target and transition.custom.get("default_resolution"):
            return transition.custom["default_resolution"]
    return ""


def _needs(option: services.TransitionOption | None) -> set[str]:
    """The inputs the operator must give to take `option`: none when it is refused anyway
    (the service says why), and no resolution where the workflow has a default."""
    if option is None or not option.allowed:
        return set()
    needs = set(option.requires)
    if _default_resolution(option.target):
        needs.discard("resolution")
    return needs


class TransitionInputForm(forms.Form):
    """What a workflow transition may need from the operator: a resolution, a comment."""

    resolution = forms.ChoiceField(
        choices=[("", "---------"), *Issue.Resolution.choices],
        error_messages={"required": "Choose a resolution."},
    )
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": "Write a comment saying why."},
    )

    def __init__(self, *args, requires=(), target: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        for name in list(self.fields):
            if name not in requires:
                del self.fields[name]
        if "resolution" in self.fields:
            self.fields["resolution"].initial = _default_resolution(target)


def _transition_action(target: str):
    def run(modeladmin, request, queryset):
        return modeladmin.move_issues(request, queryset, target)

    run.__name__ = f"move_to_{target}"
    run.short_description = f"Move to {target.replace('_', ' ')} (through the workflow)"
    return run


class IssueAdminForm(VersionedForm):
    """Runs the services' checks as form validation, so a refusal is shown on the
    form instead of failing in save_model."""

    relate_type = forms.ChoiceField(
        label="Relate to another issue",
        choices=[("", "---------"), *((name, name.replace("_", " ")) for name in TYPE_NAMES)],
        required=False,
        help_text="As this issue reads it: it blocks, is blocked by, is a child of...",
    )
    relate_to = forms.CharField(
        label="Other issue's key",
        max_length=40,
        required=False,
        help_text="Such as WEB-42. The relation's rules apply: no cycles, one parent.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "labels" in self.fields:
            self._offer_labels_of(self.instance.project_id or self._chosen_project())

    def _chosen_project(self) -> int | None:
        """The project picked on the add page: posted, or given as `?project=<id>`."""
        chosen = str(self.data.get("project") or self.initial.get("project") or "")
        if not (chosen.isascii() and chosen.isdigit()) or int(chosen) >= 2**63:
            return None  # not an id: the project field reports it, and no query overflows
        return int(chosen)

    def _offer_labels_of(self, project_id: int | None) -> None:
        # Only the issue's project's labels may be picked. Until a project is chosen (on
        # the add page) every project's are listed, named with their project, since
        # several projects have a `bug`.
        field = self.fields["labels"]
        labels = Label.objects.select_related("project").order_by("project__key", "name")
        if project_id is not None:
            field.queryset = labels.filter(project_id=project_id)
        else:
            field.queryset = labels
            field.label_from_instance = lambda label: f"{label.project.key}: {label.name}"
            field.help_text = "Only labels of the issue's project can be chosen."

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
        if bool(cleaned.get("relate_type")) != bool(cleaned.get("relate_to")):
            raise ValidationError("To relate this issue, choose both a relation and a key.")
        return cleaned


@admin.register(Issue)
class IssueAdmin(SafeAutocompleteFields, ServiceRefusalsAsMessages, admin.ModelAdmin):
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
    inlines = [
        RelationsOutInline,
        RelationsInInline,
        ChildrenInline,
        CommentInline,
        IssueEventInline,
    ]
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

    def get_urls(self):
        transition = path(
            "<path:object_id>/transition/",
            self.admin_site.admin_view(self.transition_view),
            name="issues_issue_transition",
        )
        return [transition, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        issue = self.get_object(request, unquote(object_id))
        if issue is not None:
            extra_context = {
                **(extra_context or {}),
                "workflow": self._workflow(request, issue),
                # The workflow's forms carry the version shown, as the change form does.
                "version": updated_at_version(issue),
            }
        return super().change_view(request, object_id, form_url, extra_context)

    def _workflow(self, request, issue) -> list[dict]:
        """Each way out of the issue's status, for the change page: allowed ones with the
        form that takes them, refused ones with the reason."""
        return [
            {
                "option": option,
                "label": option.name.replace("_", " ").capitalize(),
                "form": TransitionInputForm(
                    requires=option.requires if option.allowed else (),
                    target=option.target,
                    auto_id=f"id_{option.name}_%s",
                ),
            }
            for option in services.issue_available_transitions(issue=issue, user=request.user)
        ]

    def transition_view(self, request, object_id):
        """Takes one transition from the change page; a missing or invalid input shows
        the form again with the error, and nothing changes."""
        issue = self.get_object(request, unquote(object_id))
        if issue is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, issue):
            raise PermissionDenied
        change_url = reverse("admin:issues_issue_change", args=[issue.pk])
        if request.method != "POST":
            return redirect(change_url)
        target = request.POST.get("status", "")
        version = request.POST.get("version", "")
        option = self._option(request, issue, target)
        requires = option.requires if option is not None and option.allowed else ()
        form = TransitionInputForm(request.POST, requires=requires, target=target)
        if not form.is_valid():
            hidden = {"status": target, "version": version}
            return self._confirmation(request, [(issue, option)], target, form, hidden=hidden)
        expected = Expected.of(version, updated_at_version) if version else None
        self._take(request, [(issue, option)], target, form.cleaned_data, expected=expected)
        return redirect(change_url)

    def move_issues(self, request, queryset, target: str):
        """The list's action: moves each selected issue, first asking on an intermediate
        page for the resolution or comment any of them needs (as delete_selected asks
        for confirmation)."""
        plans = [
            (issue, self._option(request, issue, target))
            for issue in queryset.select_related("project")
        ]
        needs = set().union(*(_needs(option) for _, option in plans))
        if needs:
            data = request.POST if "confirm" in request.POST else None
            form = TransitionInputForm(data, requires=needs, target=target)
            if not form.is_valid():
                hidden = {"action": f"move_to_{target}"}
                return self._confirmation(request, plans, target, form, hidden=hidden)
            inputs = form.cleaned_data
        else:
            inputs = {}
        self._take(request, plans, target, inputs)
        return None

    def _option(self, request, issue, target: str) -> services.TransitionOption | None:
        options = services.issue_available_transitions(issue=issue, user=request.user)
        return next((option for option in options if option.target == target), None)

    def _confirmation(self, request, plans, target: str, form, *, hidden: dict):
        context = {
            **self.admin_site.each_context(request),
            "title": f"Move to {target.replace('_', ' ')}",
            "opts": self.opts,
            "plans": [{"issue": issue, "option": option} for issue, option in plans],
            "target": target,
            "form": form,
            "hidden": hidden,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "is_bulk": "action" in hidden,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/issues/issue/transition.html", context)

    def _take(self, request, plans, target: str, inputs: dict, expected=None) -> None:
        """Runs the workflow for each issue; a refusal is a message naming the issue.
        `expected`: the version the change page showed (of its one issue)."""
        done = 0
        for issue, option in plans:
            # A resolution only where the transition takes one: closing a resolved
            # issue keeps the resolution it was resolved with.
            wants_resolution = option is not None and "resolution" in option.requires
            try:
                services.issue_transition(
                    issue=issue,
                    user=request.user,
                    status=target,
                    resolution=inputs.get("resolution", "") if wants_resolution else "",
                    comment=inputs.get("comment", ""),
                    expected=expected,
                )
                done += 1
            except (DomainError, ValidationError) as e:
                self.message_user(request, f"{issue.key}: {refusal(e)}", messages.WARNING)
        if done:
            self.message_user(request, f"Moved {done} issue(s) to {target}.", messages.SUCCESS)

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
            # The service compares with the stored row, not with `obj`, which already
            # carries the form's values: first its version with the one the form showed.
            services.issue_update(
                issue=obj, actor=request.user, expected=form.expected(), **fields
            )
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
        if form.cleaned_data.get("relate_to"):
            # A refusal (a cycle, a second parent...) undoes the whole save (the view is
            # atomic) and shows as a message.
            relation_create(
                issue=Issue.objects.select_related("project").get(pk=obj.pk),
                actor=request.user,
                type=form.cleaned_data["relate_type"],
                other=form.cleaned_data["relate_to"].strip(),
            )

    def delete_model(self, request, obj):
        services.issue_delete(issue=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        services.issues_delete(issues=queryset, actor=request.user)


class LabelAdminForm(VersionedForm):
    version_of = staticmethod(row_version)  # a label has no updated_at

    def clean(self):
        cleaned = super().clean()
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        if project is not None and project.is_archived:
            raise ValidationError(ProjectArchived.message)
        return cleaned


@admin.register(Label)
class LabelAdmin(SafeAutocompleteFields, ServiceRefusalsAsMessages, admin.ModelAdmin):
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
            # The service reads the stored label (the form changed `obj`) and compares its
            # version with the one the form showed.
            services.label_update(
                label=obj, actor=request.user, expected=form.expected(), **fields
            )
        else:
            project = form.cleaned_data["project"]
            obj.pk = services.label_create(project=project, actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        services.label_delete(label=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        services.labels_delete(labels=queryset, actor=request.user)


@admin.register(IssueEvent)
class IssueEventAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["issue", "kind", "actor", "from_status", "to_status", "field", "created_at"]
    list_filter = ["kind", "to_status"]
    search_fields = ["issue__project__key", "=issue__number", "actor__username", "field"]
    list_select_related = ["issue__project", "actor"]
    readonly_fields = [f.name for f in IssueEvent._meta.fields]
