"""Account and token operations; views, the admin and commands all call these."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException, AuthenticationFailed
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from api.errors import NotAllowed
from api.versions import Expected, lock_for_write

from . import pats
from .blocklist import access_token_revoke
from .callers import Caller, as_caller
from .lockout import LoginLockedOut
from .models import PersonalAccessToken, RevokedAccessToken, TokenEvent, TokenFamily, User
from .tokens import AccessToken, RefreshToken


class InvalidCredentials(AuthenticationFailed):
    default_detail = "Invalid credentials."
    default_code = "invalid_credentials"


class InvalidRefreshToken(AuthenticationFailed):
    default_detail = "Refresh token is invalid, expired or revoked."
    default_code = "invalid_refresh_token"


class TooManyFailedLogins(APIException):
    """The address or the account is over its limit of failed logins (accounts.lockout)."""

    status_code = 429
    default_code = "too_many_failed_logins"

    def __init__(self, locked_out: LoginLockedOut):
        self.wait = locked_out.wait  # sent as Retry-After
        super().__init__(locked_out.message)


@dataclass(frozen=True)
class TokenPair:
    access: AccessToken
    refresh: RefreshToken

    def as_response(self) -> dict:
        return {
            "access_token": str(self.access),
            "refresh_token": str(self.refresh),
            "token_type": "Bearer",
            "expires_in": int(settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        }


def _save_unique(user: User, **save_kwargs) -> None:
    """Save; losing a race for a username or email is invalid input, not a server error."""
    try:
        with transaction.atomic():
            user.save(**save_kwargs)
    except IntegrityError as e:
        # full_clean() checked uniqueness, but a concurrent request got there first.
        others = User.objects.exclude(pk=user.pk)
        taken = [
            field
            for field in ("username", "email")
            if others.filter(**{f"{field}__iexact": getattr(user, field)}).exists()
        ]
        if not taken:
            raise
        raise ValidationError(
            {
                field: ValidationError(f"A user with that {field} already exists.", code="unique")
                for field in taken
            }
        ) from e


@transaction.atomic
def user_register(*, username: str, email: str, password: str, display_name: str = "") -> User:
    user = User(username=username, email=email, display_name=display_name)
    validate_password(password, user=user)
    user.set_password(password)
    # Constraint checks name no field; the database enforces them and _save_unique does.
    user.full_clean(validate_constraints=False)
    _save_unique(user)
    return user


@transaction.atomic
def user_update(*, user: User, expected: Expected | None = None, **fields) -> User:
    """Change the fields a user may set on themselves (email, display name)."""
    user = lock_for_write(User.objects.all(), user.pk, expected)
    for name in ("email", "display_name"):
        if name in fields:
            setattr(user, name, fields[name])
    user.full_clean(validate_constraints=False)
    _save_unique(user, update_fields=[f for f in ("email", "display_name") if f in fields])
    return user


def _issue_pair(*, user: User, family: TokenFamily) -> TokenPair:
    """Sign a new access/refresh pair in `family` and make the refresh token its current one."""
    refresh = RefreshToken()
    refresh["sub"] = str(user.pk)
    refresh["fam"] = str(family.pk)
    access = AccessToken()
    access["sub"] = str(user.pk)
    access["fam"] = str(family.pk)

    expires_at = datetime_from_epoch(refresh["exp"])
    OutstandingToken.objects.create(
        user=user,
        jti=refresh["jti"],
        token=str(refresh),
        created_at=refresh.current_time,
        expires_at=expires_at,
    )
    family.current_jti = refresh["jti"]
    family.expires_at = expires_at
    family.save(update_fields=["current_jti", "expires_at"])
    return TokenPair(access=access, refresh=refresh)


@transaction.atomic
def token_pair_for_user(*, user: User) -> TokenPair:
    """Start a new token family for a fresh login."""
    family = TokenFamily(user=user, current_jti="", expires_at=timezone.now())
    family.save()
    return _issue_pair(user=user, family=family)


def auth_login(*, request, login: str, password: str) -> TokenPair:
    try:
        user = authenticate(request, username=login, password=password)
    except LoginLockedOut as e:
        raise TooManyFailedLogins(e) from e
    if user is None:  # wrong login, wrong password and inactive all look the same
        raise InvalidCredentials()
    update_last_login(None, user)
    return token_pair_for_user(user=user)


def _blacklist(jti: str) -> None:
    outstanding = OutstandingToken.objects.filter(jti=jti).first()
    if outstanding is not None:
        BlacklistedToken.objects.get_or_create(token=outstanding)


def token_family_revoke(*, family: TokenFamily, reason: str) -> None:
    """Refuse every refresh token of the family, now and later."""
    if family.revoked_at is None:
        family.revoked_at = timezone.now()
        family.revoked_reason = reason
        family.save(update_fields=["revoked_at", "revoked_reason"])
    # Earlier tokens of the family were blacklisted when rotated out.
    _blacklist(family.current_jti)


def _decode_refresh(raw: str) -> RefreshToken:
    try:
        return RefreshToken(raw)
    except TokenError as e:
        raise InvalidRefreshToken() from e


def token_refresh(*, raw_refresh: str) -> TokenPair:
    """Rotate a refresh token; presenting a rotated-out one revokes its whole family."""
    token = _decode_refresh(raw_refresh)
    with transaction.atomic():
        # The row lock makes concurrent refreshes of one token take turns:
        # the first rotates, the rest see a stale jti and count as reuse.
        family = (
            TokenFamily.objects.select_for_update()
            .select_related("user")
            .filter(pk=token["fam"])
            .first()
        )
        if family is None or family.revoked_at is not None:
            raise InvalidRefreshToken()
        reused = token["jti"] != family.current_jti
        if reused:
            token_family_revoke(family=family, reason="reuse")
        elif not family.user.is_active:
            token_family_revoke(family=family, reason="inactive")
        else:
            _blacklist(token["jti"])
            return _issue_pair(user=family.user, family=family)
    # Raised outside the transaction so the revocation is committed.
    raise InvalidRefreshToken()


@transaction.atomic
def auth_logout(*, user: User, raw_refresh: str, access_token) -> None:
    """Revoke the refresh token's family and the access token presented with the request."""
    refresh = _decode_refresh(raw_refresh)
    if refresh["sub"] != str(user.pk):
        raise InvalidRefreshToken()
    family = TokenFamily.objects.select_for_update().filter(pk=refresh["fam"]).first()
    if family is not None:
        token_family_revoke(family=family, reason="logout")
    if access_token is not None:
        access_token_revoke(
            jti=access_token["jti"],
            expires_at=datetime_from_epoch(access_token["exp"]),
            user=user,
        )


@transaction.atomic
def token_families_revoke(*, families, reason: str) -> int:
    """Revoke the families of `families` (a queryset) not revoked yet; how many. Locked, as
    the token refresh locks its family: a refresh racing this cannot rotate a family
    after it is revoked."""
    unrevoked = TokenFamily.objects.filter(pk__in=families.values("pk"), revoked_at=None)
    count = 0
    for family in unrevoked.select_for_update():
        token_family_revoke(family=family, reason=reason)
        count += 1
    return count


def user_revoke_all_tokens(*, user: User) -> int:
    """Sign a user out everywhere: every refresh family of theirs is revoked."""
    return token_families_revoke(families=user.token_families.all(), reason="admin")


def _delete_expired(model, now) -> int:
    # delete()'s total also counts cascaded rows (blacklist entries); report the model's own.
    _, per_model = model.objects.filter(expires_at__lte=now).delete()
    return per_model.get(model._meta.label, 0)


def tokens_prune() -> dict[str, int]:
    """Delete token records past their expiry; they can no longer be presented."""
    now = timezone.now()
    return {
        "outstanding": _delete_expired(OutstandingToken, now),
        "families": _delete_expired(TokenFamily, now),
        "revoked_access": _delete_expired(RevokedAccessToken, now),
    }


# -- personal access tokens (their format and lookup: pats.py) ----------------------------


def _token_event(*, token, kind, actor=None, ip=None) -> None:
    TokenEvent.objects.create(token=token, kind=kind, actor=actor, ip=ip or None)


@transaction.atomic
def pat_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    projects=None,
    expires_at=None,
    actor: User | Caller | None = None,
    ip: str | None = None,
) -> tuple[PersonalAccessToken, str]:
    """Create a token for `user`; return it and its secret, which is never stored.

    `actor` made the request (the user, or a maintainer for a bot); when it is a Caller
    that authenticated with a token itself, the new token cannot reach beyond that
    token's scopes and projects.
    """
    unknown = sorted(set(scopes) - pats.SCOPES.keys())
    if unknown:
        raise ValidationError(
            {"scopes": f"Unknown scopes: {', '.join(unknown)}. Known: {', '.join(pats.SCOPES)}."}
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "Give a time in the future."})
    projects = None if projects is None else list(projects)
    caller = as_caller(actor or user)
    _check_within_caller_token(caller, scopes, projects)
    if user.is_bot and {p.pk for p in projects or ()} != {user.bot_project_id}:
        # Its project's maintainers make them there (projects.views.BotTokenViewSet).
        raise ValidationError({"projects": "A bot's tokens are limited to its own project."})
    secret = pats.secret_generate()
    token = PersonalAccessToken(
        user=user,
        name=name,
        token_hash=pats.secret_hash(secret),
        prefix=secret[: pats.VISIBLE_LENGTH],
        scopes=sorted(set(scopes)),
        limited_to_projects=projects is not None,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    if projects:
        token.projects.set(projects)
    _token_event(token=token, kind=TokenEvent.Kind.CREATED, actor=caller.user, ip=ip)
    return token, secret


def _check_within_caller_token(caller: Caller, scopes, projects) -> None:
    held = caller.scopes
    if held is not None and not set(scopes) <= held:
        missing = ", ".join(sorted(set(scopes) - held))
        raise NotAllowed(f"A token cannot create a token with scopes it lacks: {missing}.")
    limit = caller.project_ids
    if limit is not None and (projects is None or not {p.pk for p in projects} <= limit):
        raise NotAllowed(
            "A token limited to projects can only create tokens limited to some of them."
        )


@transaction.atomic
def pat_revoke(*, token: PersonalAccessToken, actor: User | None = None, ip=None) -> None:
    # Locked, so of two revocations at once one records it.
    token = lock_for_write(PersonalAccessToken.objects.all(), token.pk)
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    _token_event(token=token, kind=TokenEvent.Kind.REVOKED, actor=actor, ip=ip)
    pats.pat_mark_revoked(token.token_hash)
    # Again after the commit: a lookup in between may have read the row as it was.
    transaction.on_commit(lambda: pats.pat_mark_revoked(token.token_hash), robust=True)


def pats_revoke_all(*, user: User, actor: User | None = None) -> int:
    tokens = list(PersonalAccessToken.objects.filter(user=user, revoked_at__isnull=True))
    for token in tokens:
        pat_revoke(token=token, actor=actor)
    return len(tokens)
