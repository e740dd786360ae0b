from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (`manage.py seed_demo`): above every entity app, which never import it."""

    name = "demo"
