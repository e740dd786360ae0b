from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("me/notifications", views.InboxViewSet, basename="me-notification")

SINGLETON = {"get": "retrieve", "put": "update", "delete": "destroy"}

urlpatterns = [
    path(
        "me/notification-settings",
        views.NotificationSettingsView.as_view(),
        name="notification-settings",
    ),
    re_path(
        r"^issues/(?P<issue_key>[^/]+)/subscription$",
        views.IssueSubscriptionViewSet.as_view(SINGLETON),
        name="issue-subscription",
    ),
    re_path(
        r"^projects/(?P<project_key>[^/]+)/subscription$",
        views.ProjectSubscriptionViewSet.as_view(SINGLETON),
        name="project-subscription",
    ),
    *router.urls,
]
