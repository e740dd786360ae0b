"""The comment's admin page. It lives with the issue aggregate, as the issue's comment
endpoints do (comment_views.py): a comment added here enters the issue's history, which is
the issues app's to record. Registered by importing it from issues/admin.py."""

from django.contrib import admin
from django.core.exceptions import ValidationError

from api.admin import ServiceRefusalsAsMessages, VersionedForm
from comments import services
from comments.models import Comment
from projects.services import ProjectArchived

from .services import issue_comment


class CommentAdminForm(VersionedForm):
    """Refuses comments in archived projects on the form, instead of failing in save_model."""

    def clean(self):
        cleaned = super().clean()
        issue = cleaned.get("issue")
        if issue is None and self.instance.issue_id is not None:
            issue = self.instance.issue
        if issue is not None and issue.project.is_archived:
            raise ValidationError(ProjectArchived.message)
        return cleaned


@admin.register(Comment)
class CommentAdmin(ServiceRefusalsAsMessages, admin.ModelAdmin):
    form = CommentAdminForm
    list_display = ["id", "issue", "author", "created_at", "edited"]
    search_fields = ["body", "author__username"]
    list_select_related = ["issue__project", "author"]
    raw_id_fields = ["issue"]
    # The author is whoever wrote the comment; the edited flag is the service's to set.
    readonly_fields = ["author", "edited", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # A comment stays on the issue it was written on.
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "issue"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        # Through the services: an edit is flagged, a new comment enters the history.
        body = form.cleaned_data["body"]
        if change:
            # The service reads the stored comment and compares the form's version with it.
            services.comment_update(
                comment=obj, body=body, actor=request.user, expected=form.expected()
            )
        else:
            created = issue_comment(
                issue=form.cleaned_data["issue"], author=request.user, body=body
            )
            obj.pk = created.pk

    def delete_model(self, request, obj):
        # Through the service, so the deletion is announced (events).
        services.comment_delete(comment=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        # All or none: a refusal (archived project) keeps every comment.
        services.comments_delete(comments=queryset, actor=request.user)
