from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery

from accounts.callers import as_caller, user_of


class Role(models.IntegerChoices):
    """A member's role in a project; a higher value may do everything a lower one may."""

    VIEWER = 10, "viewer"
    REPORTER = 20, "reporter"
    DEVELOPER = 30, "developer"
    MAINTAINER = 40, "maintainer"
    OWNER = 50, "owner"

    @classmethod
    def from_name(cls, name: str) -> "Role":
        return next(role for role in cls if role.label == name)


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, caller):
        """Projects `caller` (a Caller, or a user) may see: internal ones and their own; all
        for site admins."""
        caller = as_caller(caller)
        user = caller.user
        if not user.is_authenticated:
            return self.none()
        projects = self
        # A personal access token limited to some projects sees nothing else, as if the
        # rest did not exist.
        if caller.project_ids is not None:
            projects = projects.filter(pk__in=caller.project_ids)
        if user.is_site_admin:
            return projects
        member = Membership.objects.filter(project=OuterRef("pk"), user=user)
        return projects.filter(Q(visibility=Project.Visibility.INTERNAL) | Q(Exists(member)))

    def with_member_role(self, user):
        """Annotate `member_role`: the caller's membership role, or None (see rights.py)."""
        user = user_of(user)
        role = Membership.objects.filter(project=OuterRef("pk"), user=user.pk).values("role")[:1]
        return self.annotate(member_role=Subquery(role), member_role_for=models.Value(user.pk))


class Project(models.Model):
    class Visibility(models.TextChoices):
        PRIVATE = "private", "Private: members only"
        INTERNAL = "internal", "Internal: every signed-in user may read"

    key = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z][A-Z0-9]{1,9}\Z",
                "2-10 upper-case letters or digits, starting with a letter.",
                code="invalid_key",
            )
        ],
        help_text="Prefix of issue keys (WEB-42). Cannot be changed after creation.",
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=10_000)
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # The last issue number handed out; numbers are never reused.
    last_issue_number = models.PositiveIntegerField(default=0, editable=False)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["visibility", "archived_at"])]

    def __str__(self):
        return f"{self.key}: {self.name}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.PositiveSmallIntegerField(choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["user", "project"])]
        ordering = ["-role", "user__username"]

    def __str__(self):
        return f"{self.user} in {self.project.key} ({self.get_role_display()})"
