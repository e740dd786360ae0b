import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower


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
        ]

    def __str__(self):
        return self.username

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
