from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register(
    r"issues/(?P<issue_key>[^/]+)/comments", views.IssueCommentViewSet, basename="issue-comment"
)
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = router.urls
