from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("comments", views.CommentViewSet, basename="comment")

urlpatterns = router.urls
