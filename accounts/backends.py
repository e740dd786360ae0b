from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from .lockout import login_failure_record, login_lockout_check


class UsernameOrEmailBackend(ModelBackend):
    """Authenticate with a username or an email address, both case-insensitively.

    Every login (the API, the browsable API's and the admin's forms) checks its password
    here, so the limits on failed checks (accounts.lockout) hold for all of them; over a
    limit this raises LoginLockedOut instead of checking the password.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        login = username or kwargs.get("email")
        if not login or password is None:
            return None
        login_lockout_check(request=request, login=login)
        user = self._check_password(login, password)
        if user is None:
            login_failure_record(request=request, login=login)
        return user

    def _check_password(self, login, password):
        User = get_user_model()
        field = "email__iexact" if "@" in login else "username__iexact"
        user = User.objects.filter(**{field: login}).first()
        if user is None:
            # Hash anyway so response time does not tell whether the user exists.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def user_can_authenticate(self, user):
        # A bot acts only through its tokens, even if someone gave it a password.
        return super().user_can_authenticate(user) and not user.is_bot
