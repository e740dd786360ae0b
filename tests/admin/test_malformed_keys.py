"""An id that is no key in an autocomplete field (a typed `?project=abc`, a hand-made POST,
a number past the column's range) is a form error, never a server error."""

import pytest

from issues.models import Issue, Label
from projects.models import Membership, Project

pytestmark = pytest.mark.django_db

MALFORMED = ["abc", "99999999999999999999", "1.5"]
PAGES = {
    "issue": ("/admin/issues/issue/add/", "project", Issue),
    "assignee": ("/admin/issues/issue/add/", "assignee", Issue),
    "label": ("/admin/issues/label/add/", "project", Label),
    "membership": ("/admin/projects/membership/add/", "user", Membership),
    "project": ("/admin/projects/project/add/", "created_by", Project),
}


@pytest.mark.parametrize("value", MALFORMED)
@pytest.mark.parametrize("page", PAGES)
def test_a_malformed_key_is_a_form_error(admin_client, page, value):
    url, field, model = PAGES[page]
    before = model.objects.count()

    shown = admin_client.get(url, {field: value})
    posted = admin_client.post(url, {field: value})

    assert shown.status_code == 200
    assert posted.status_code == 200
    assert field in posted.context["adminform"].form.errors
    assert model.objects.count() == before
