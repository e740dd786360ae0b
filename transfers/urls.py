from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("exports", views.ExportViewSet, basename="export")
router.register("exports", views.ExportFileViewSet, basename="export-file")
router.register(
    r"projects/(?P<project_key>[^/]+)/exports",
    views.ProjectExportViewSet,
    basename="project-export",
)
router.register("imports", views.ImportViewSet, basename="import")
router.register(
    r"projects/(?P<project_key>[^/]+)/imports",
    views.ProjectImportViewSet,
    basename="project-import",
)

urlpatterns = router.urls
