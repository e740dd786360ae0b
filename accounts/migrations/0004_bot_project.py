"""A bot belongs to the project that created it (issue #22).

Before this, a bot was tied to its project only by its first membership, so another
project's owner could add it as a member and manage its tokens there, and a bot could be
made an owner. This records each bot's project and undoes what the old rules let happen:

- a bot's project is the one whose key starts its username (`<key>-<name>+bot`) and that
  existed when the bot was made; its memberships anywhere else are removed, and its
  tokens that reach beyond that project are revoked (recorded as TokenEvents without an
  actor; their cached entries expire within AUTH_USER_CACHE_SECONDS);
- a bot whose project is gone is deactivated and its tokens revoked;
- a bot that is an owner becomes a maintainer; a project left without an owner gets its
  longest-standing person of the highest role as owner, as a project always keeps one.

Memberships removed or changed here are not announced as events (the outbox belongs to the
services, which a migration cannot call). The check constraint comes in the next migration:
PostgreSQL cannot alter a table in the transaction that has just updated its foreign keys.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

OWNER, MAINTAINER = 50, 40


def _revoke(TokenEvent, tokens, now) -> None:
    for token in tokens.filter(revoked_at__isnull=True):
        token.revoked_at = now
        token.save(update_fields=["revoked_at"])
        TokenEvent.objects.create(token=token, kind="revoked", actor=None)


def bots_belong_to_their_projects(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    PersonalAccessToken = apps.get_model("accounts", "PersonalAccessToken")
    TokenEvent = apps.get_model("accounts", "TokenEvent")
    Project = apps.get_model("projects", "Project")
    Membership = apps.get_model("projects", "Membership")
    now = timezone.now()
    for bot in User.objects.filter(type="bot"):
        key = bot.username.split("-", 1)[0].upper()
        home = Project.objects.filter(key=key, created_at__lte=bot.date_joined).first()
        tokens = PersonalAccessToken.objects.filter(user=bot)
        if home is None:
            bot.is_active = False
            bot.save(update_fields=["is_active"])
            Membership.objects.filter(user=bot).delete()
            _revoke(TokenEvent, tokens, now)
            continue
        bot.bot_project = home
        bot.save(update_fields=["bot_project"])
        Membership.objects.filter(user=bot).exclude(project=home).delete()
        elsewhere = Project.objects.exclude(pk=home.pk)
        beyond = tokens.filter(limited_to_projects=False) | tokens.filter(projects__in=elsewhere)
        _revoke(TokenEvent, beyond.distinct(), now)

    for membership in Membership.objects.filter(user__type="bot", role=OWNER):
        membership.role = MAINTAINER
        membership.save(update_fields=["role"])
        project = membership.project
        if not Membership.objects.filter(project=project, role=OWNER).exists():
            successor = (
                Membership.objects.filter(project=project, user__type="user")
                .order_by("-role", "created_at", "pk")
                .first()
            )
            if successor is not None:
                successor.role = OWNER
                successor.save(update_fields=["role"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_personal_access_tokens"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="bot_project",
            field=models.ForeignKey(
                blank=True,
                help_text="The project a bot belongs to (bots only).",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="bots",
                to="projects.project",
            ),
        ),
        migrations.RunPython(bots_belong_to_their_projects, migrations.RunPython.noop),
    ]
