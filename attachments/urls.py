from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("attachments", views.AttachmentViewSet, basename="attachment")

issue_attachments = views.IssueAttachmentViewSet.as_view({"get": "list", "post": "create"})
comment_attachments = views.CommentAttachmentViewSet.as_view({"get": "list", "post": "create"})

urlpatterns = [
    path("limits", views.LimitsView.as_view(), name="limits"),
    re_path(
        r"^issues/(?P<issue_key>[^/]+)/attachments$",
        issue_attachments,
        name="issue-attachment-list",
    ),
    path(
        "comments/<int:comment_id>/attachments",
        comment_attachments,
        name="comment-attachment-list",
    ),
    *router.urls,
]
