"""The product's URLs, plus the inbox's data floor at /bench/floor/notifications.

The floor serves the same page as GET /api/v1/me/notifications (the same rows, joins,
visibility filter and order, `?unread=true` too), read through .values() and encoded with
orjson, for the user named by `?user=`: no authentication, no DRF, no ETag, nothing but
Django's request cycle and the database. Nothing serving these rows can be cheaper.
"""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

from .views import floor_notifications

urlpatterns = [
    path("bench/floor/notifications", floor_notifications, name="bench-floor-notifications"),
    *product_urlpatterns,
]
