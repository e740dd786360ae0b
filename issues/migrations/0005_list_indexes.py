"""Indexes for the filtered lists people keep open ("my open bugs by priority").

- (assignee, status, -priority, -id) replaces (assignee, status), which it begins with: one
  assignee's issues in one status come out in priority order, so no sort is needed.
- (assignee, -priority, -id) over the open issues only, for `is_open=true`.
- (label_id, issue_id) on the issue-label table: the label filter reads the issues carrying
  a label from this index alone, without visiting the table (Django's own index on
  label_id alone would need a table visit per row for the issue id).
"""

from django.db import migrations, models

LABEL_INDEX = "CREATE INDEX issue_labels_label_issue ON issues_issue_labels (label_id, issue_id)"


class Migration(migrations.Migration):

    dependencies = [
        ("issues", "0004_drop_duplicate_reporter_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                fields=["assignee", "status", "-priority", "-id"],
                name="issue_assignee_status_prio",
            ),
        ),
        migrations.RemoveIndex(
            model_name="issue",
            name="issue_assignee_status",
        ),
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "in_progress", "in_review"])),
                fields=["assignee", "-priority", "-id"],
                name="issue_open_assignee_prio",
            ),
        ),
        migrations.RunSQL(LABEL_INDEX, "DROP INDEX issue_labels_label_issue", elidable=False),
    ]
