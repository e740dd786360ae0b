"""The assignee indexes carry the project (PostgreSQL: INCLUDE), so that counting "my open
bugs" checks the project's visibility from the index, without visiting the table."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("issues", "0005_list_indexes"),
        ("projects", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="issue",
            name="issue_assignee_status_prio",
        ),
        migrations.RemoveIndex(
            model_name="issue",
            name="issue_open_assignee_prio",
        ),
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                fields=["assignee", "status", "-priority", "-id"],
                include=("project",),
                name="issue_assignee_status_prio",
            ),
        ),
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "in_progress", "in_review"])),
                fields=["assignee", "-priority", "-id"],
                include=("project", "status"),
                name="issue_open_assignee_prio",
            ),
        ),
    ]
