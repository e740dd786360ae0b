from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("projects", views.ProjectViewSet, basename="project")
router.register(
    r"projects/(?P<project_key>[^/]+)/members", views.MembershipViewSet, basename="member"
)
router.register(r"projects/(?P<project_key>[^/]+)/bots", views.BotViewSet, basename="bot")
router.register(
    r"projects/(?P<project_key>[^/]+)/bots/(?P<username>[^/]+)/tokens",
    views.BotTokenViewSet,
    basename="bot-token",
)

urlpatterns = router.urls
