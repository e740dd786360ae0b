"""Accounts' pages at the site's root: the public keys that verify access tokens."""

from django.urls import path

from .views import JWKSView

urlpatterns = [
    path(".well-known/jwks.json", JWKSView.as_view(), name="jwks"),
]
