"""The product's URLs, plus the benchmark's references under /bench/."""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

from . import views

urlpatterns = [
    path("bench/floor/issues", views.floor_issue_list, name="bench-floor"),
    path("bench/floor/issues/<str:key>", views.floor_issue_detail, name="bench-floor-detail"),
    path("bench/floor/notifications", views.floor_notifications, name="bench-floor-inbox"),
    path("bench/floor/attachments", views.floor_attachments, name="bench-floor-attachments"),
    path(
        "bench/naive/issues", views.NaiveIssueViewSet.as_view({"get": "list"}), name="bench-naive"
    ),
    *product_urlpatterns,
]
