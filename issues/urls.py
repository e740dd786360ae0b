from rest_framework.routers import SimpleRouter

from . import comment_views, relation_views, views

router = SimpleRouter(trailing_slash=False)
# Before the issues: `bulk` is no issue key.
router.register("issues/bulk", views.IssueBulkViewSet, basename="issue-bulk")
router.register("issues", views.IssueViewSet, basename="issue")
router.register(
    r"projects/(?P<project_key>[^/]+)/issues", views.ProjectIssueViewSet, basename="project-issue"
)
router.register(r"projects/(?P<project_key>[^/]+)/labels", views.LabelViewSet, basename="label")
router.register(
    r"issues/(?P<issue_key>[^/]+)/events", views.IssueEventViewSet, basename="issue-event"
)
router.register(
    r"issues/(?P<issue_key>[^/]+)/comments",
    comment_views.IssueCommentViewSet,
    basename="issue-comment",
)
router.register(
    r"issues/(?P<issue_key>[^/]+)/relations",
    relation_views.IssueRelationViewSet,
    basename="issue-relation",
)

urlpatterns = router.urls
