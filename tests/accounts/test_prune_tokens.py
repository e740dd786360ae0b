from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import RevokedAccessToken, TokenFamily

pytestmark = pytest.mark.django_db


def _records(user, name: str, expires_at):
    family = TokenFamily.objects.create(user=user, current_jti=name, expires_at=expires_at)
    outstanding = OutstandingToken.objects.create(
        user=user, jti=name, token=name, expires_at=expires_at
    )
    BlacklistedToken.objects.create(token=outstanding)
    RevokedAccessToken.objects.create(jti=name, user=user, expires_at=expires_at)
    return family


def test_prune_tokens_deletes_only_expired_records(user):
    now = timezone.now()
    _records(user, "expired", now - timedelta(seconds=1))
    kept = _records(user, "valid", now + timedelta(days=1))
    out = StringIO()

    call_command("prune_tokens", stdout=out)

    assert out.getvalue().strip() == "Deleted 1 outstanding, 1 families, 1 revoked_access."
    assert list(TokenFamily.objects.all()) == [kept]
    assert list(OutstandingToken.objects.values_list("jti", flat=True)) == ["valid"]
    assert list(BlacklistedToken.objects.values_list("token__jti", flat=True)) == ["valid"]
    assert list(RevokedAccessToken.objects.values_list("jti", flat=True)) == ["valid"]


def test_prune_tokens_with_nothing_expired_deletes_nothing(client_for, user):
    client = client_for(user)
    out = StringIO()

    call_command("prune_tokens", stdout=out)

    assert out.getvalue().strip() == "Deleted 0 outstanding, 0 families, 0 revoked_access."
    assert TokenFamily.objects.count() == OutstandingToken.objects.count() == 1
    assert client.get("/api/v1/me").status_code == 200
