from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_bot_project"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(("bot_project__isnull", True), ("type", "bot"), _connector="OR"),
                name="user_bot_project_only_for_bots",
                violation_error_message="Only a bot belongs to a project.",
            ),
        ),
    ]
