from django.apps import AppConfig


class FeedConfig(AppConfig):
    """The change feed (`/api/v1/events`): the outbox's events as a client reads them. It
    sits above projects, whose visibility it filters by; the events app below it keeps
    the outbox that every app writes to."""

    name = "feed"
    verbose_name = "Change feed"
