import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

# Ends every bot's username, and no one else's (registration refuses it).
BOT_SUFFIX = "+bot"


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", User.SiteRole.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(username__iexact=username)


class User(AbstractUser):
    """A person or bot using the tracker; per-project rights live on memberships."""

    # Named apart from projects.models.Role, a member's role in one project.
    class SiteRole(models.TextChoices):
        ADMIN = "admin", "Site admin"
        USER = "user", "User"

    class Type(models.TextChoices):
        USER = "user", "User"
        BOT = "bot", "Bot"

    # No "@" in usernames: login takes a username or an email, and URLs name users.
    username = models.CharField(
        max_length=150,
        unique=True,
        validators=[
            RegexValidator(
                r"^[\w.+-]+\Z",
                "Use letters, digits and . + - _ only.",
                code="invalid_username",
            )
        ],
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField("email address")
    display_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=16, choices=SiteRole.choices, default=SiteRole.USER)
    # A bot acts only through personal access tokens: it has no usable password.
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.USER)
    # A bot belongs to the project that created it, and goes with it: it is a member of
    # no other, and only that project's maintainers manage its tokens (projects.services).
    bot_project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="bots",
        help_text="The project a bot belongs to (bots only).",
    )

    objects = UserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message="A user with that email already exists.",
            ),
            models.CheckConstraint(
                condition=Q(bot_project__isnull=True) | Q(type="bot"),
                name="user_bot_project_only_for_bots",
                violation_error_message="Only a bot belongs to a project.",
            ),
        ]

    def __str__(self):
        return self.username

    @property
    def is_bot(self) -> bool:
        return self.type == self.Type.BOT

    @property
    def is_site_admin(self) -> bool:
        return self.is_active and (self.role == self.SiteRole.ADMIN or self.is_superuser)


class TokenFamily(models.Model):
    """The chain of refresh tokens descended from one login.

    Only the newest refresh token of a family (`current_jti`) may be exchanged;
    presenting an older one is reuse, and revokes the whole family.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_families"
    )
    current_jti = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        verbose_name_plural = "token families"
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self):
        return f"{self.user} / {self.id}"


class RevokedAccessToken(models.Model):
    """An access token refused before its expiry (logout); the record behind the cache."""

    jti = models.CharField(max_length=255, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.jti


def scopes_effective(scopes) -> frozenset[str]:
    """The scopes a token with `scopes` acts with: its own, and `read`, which every scope
    implies (a token that writes issues must find them)."""
    return frozenset(scopes) | {"read"}


class PersonalAccessToken(models.Model):
    """A long-lived bearer token for scripts and bots, limited by scopes and projects.

    Only a SHA-256 hash of the secret is stored (see accounts/pats.py for why that hash).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="personal_tokens"
    )
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=16, editable=False, help_text="Shown to tell tokens apart."
    )
    scopes = models.JSONField(default=list)
    # With `limited_to_projects`, only `projects` (none left if they are all deleted);
    # otherwise every project the user can see.
    projects = models.ManyToManyField("projects.Project", blank=True, related_name="+")
    limited_to_projects = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self):
        return f"{self.prefix}… ({self.name}, {self.user_id})"

    @property
    def scopes_effective(self) -> frozenset[str]:
        """The scopes it acts with (scopes_effective)."""
        return scopes_effective(self.scopes)

    @property
    def project_limit(self) -> frozenset[int] | None:
        """The only projects it reaches, or None when it is not limited to projects. A
        token read for authentication carries their ids (`project_ids`, kept with its
        cache entry, accounts/pats.py)."""
        if not self.limited_to_projects:
            return None
        ids = getattr(self, "project_ids", None)
        if ids is None:
            ids = self.projects.values_list("pk", flat=True)
        return frozenset(ids)

    @property
    def throttle_ident(self) -> str:
        """Whose rate limit a request with this token counts against (api/throttling.py)."""
        return f"pat{self.pk}"


class TokenEvent(models.Model):
    """What happened to a personal access token, for operators: created, first used, revoked."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        FIRST_USED = "first_used", "First used"
        REVOKED = "revoked", "Revoked"

    token = models.ForeignKey(PersonalAccessToken, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Who did it (null for first use, and once that user is deleted).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.token.prefix}… {self.kind}"
