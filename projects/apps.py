from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects"

    def ready(self):
        from . import schema  # noqa: F401 - registers OpenAPI serializer descriptions
