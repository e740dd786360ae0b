from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("projects", views.ProjectViewSet, basename="project")
router.register(
    r"projects/(?P<project_key>[^/]+)/members", views.MembershipViewSet, basename="member"
)

urlpatterns = router.urls
