"""The browsable API's renderer."""

from django.utils.html import escape
from django.utils.http import urlencode
from rest_framework import renderers
from rest_framework.settings import api_settings


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's, with the create forms posting to the endpoint without the page's list query.

    DRF's forms post to the page's own URL; on a filtered list (`?status=open`) that sends
    the list's filters with the POST, which takes none (StrictQueryMixin: 400). The forms
    keep `format`, so a page opened as `?format=api` answers as one.
    """

    def render(self, data, accepted_media_type=None, renderer_context=None):
        page = super().render(data, accepted_media_type, renderer_context)
        request = renderer_context["request"]
        target = request.path
        format_ = request.query_params.get(api_settings.URL_FORMAT_OVERRIDE)
        if format_ is not None:
            target += "?" + urlencode({api_settings.URL_FORMAT_OVERRIDE: format_})
        # The template escapes the URL it writes, so the same escaping finds it.
        posted = f'action="{escape(request.get_full_path())}" method="POST"'
        return page.replace(posted, f'action="{escape(target)}" method="POST"')
