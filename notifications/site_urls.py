"""Notifications' pages at the site's root: one-click unsubscribe from a mail."""

from django.urls import path

from . import views

urlpatterns = [
    path("unsubscribe/<str:token>", views.unsubscribe_page, name="notifications-unsubscribe"),
]
