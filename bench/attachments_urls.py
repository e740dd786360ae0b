"""The product's URLs, plus the attachment list's data floor at /bench/floor/attachments.

The floor serves the same page as GET /api/v1/issues/{issue_key}/attachments (the same
rows of the issue, its visibility checked the same way, the same order and fields, the
URLs made by string formatting) read through .values() and encoded with orjson, for the
user named by `?user=`: no authentication, no DRF, no ETag, nothing but Django's request
cycle and the database. Nothing serving these rows can be cheaper.
"""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns

from .views import floor_attachments

urlpatterns = [
    path("bench/floor/attachments", floor_attachments, name="bench-floor-attachments"),
    *product_urlpatterns,
]
