from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from . import (
            pats,  # noqa: F401 - drops a changed user's cached tokens
            schema,  # noqa: F401 - registers the OpenAPI authentication scheme
        )
