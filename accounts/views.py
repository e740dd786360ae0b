from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from api.clients import client_ip
from api.conditional import ConditionalMixin
from api.filters import StrictQueryMixin
from projects.selectors import projects_visible

from . import services
from .callers import Caller
from .models import PersonalAccessToken, User
from .permissions import HasSiteRights, email_right
from .serializers import (
    LoginSerializer,
    PersonalAccessTokenCreatedSerializer,
    PersonalAccessTokenCreateSerializer,
    PersonalAccessTokenSerializer,
    RefreshTokenSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from .throttles import LoginThrottle, RefreshThrottle, RegisterThrottle


def token_response(pair) -> Response:
    """A token pair, which no cache may keep, private or shared (RFC 6749, section 5.1)."""
    return Response(pair.as_response(), headers={"Cache-Control": "no-store"})


class PublicAuthView(StrictQueryMixin, generics.GenericAPIView):
    """An auth endpoint called without credentials; its failures are still 401s."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class RegisterView(PublicAuthView):
    """Create an account."""

    serializer_class = RegisterSerializer
    throttle_classes = [RegisterThrottle]

    @extend_schema(summary="Register", responses={201: UserSerializer})
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_register(**serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(PublicAuthView):
    """Exchange a username (or email) and password for a token pair.

    After too many failed logins from one address or for one account (counted together
    with the browsable API's and the admin's login forms), every login of theirs, even
    with the right password, is a 429 (`too_many_failed_logins`) until the window ends.
    """

    serializer_class = LoginSerializer
    throttle_classes = [LoginThrottle]
    checks_credentials = True  # a wrong password is a 401 (api/schema.py)

    @extend_schema(
        summary="Log in",
        responses={200: TokenPairSerializer},
        examples=[
            OpenApiExample(
                "Username and password",
                value={"username": "alice", "password": "a long passphrase"},
                request_only=True,
            ),
            OpenApiExample(
                "Token pair",
                value={
                    "access_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
                    "refresh_token": "eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...",
                    "token_type": "Bearer",
                    "expires_in": 900,
                },
                response_only=True,
            ),
        ],
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.auth_login(
            request=request,
            login=serializer.validated_data["login"],
            password=serializer.validated_data["password"],
        )
        return token_response(pair)


class RefreshView(PublicAuthView):
    """Rotate a refresh token into a new token pair."""

    serializer_class = RefreshTokenSerializer
    throttle_classes = [RefreshThrottle]
    checks_credentials = True  # a spent or unknown refresh token is a 401 (api/schema.py)

    @extend_schema(summary="Refresh the token pair", responses={200: TokenPairSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_refresh(raw_refresh=serializer.validated_data["refresh_token"])
        return token_response(pair)


class LogoutView(StrictQueryMixin, generics.GenericAPIView):
    """Revoke the refresh token's family and the access token sent with this request."""

    serializer_class = RefreshTokenSerializer
    permission_classes = [permissions.IsAuthenticated, HasSiteRights]
    rights = dict.fromkeys(("create", "metadata"), "sign_out")

    @extend_schema(summary="Log out", responses={204: None})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(
            user=request.user,
            raw_refresh=serializer.validated_data["refresh_token"],
            access_token=request.auth,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    get=extend_schema(summary="Get the signed-in user", description="The signed-in user."),
    patch=extend_schema(
        summary="Update the signed-in user",
        description="Change the signed-in user's email or display name.",
    ),
)
class MeView(StrictQueryMixin, ConditionalMixin, generics.RetrieveUpdateAPIView):
    """The signed-in user; email and display name can be changed."""

    serializer_class = UserSerializer
    queryset = User.objects.all()  # for the schema; the object is the caller
    http_method_names = ["get", "patch", "head", "options"]
    permission_classes = [permissions.IsAuthenticated, HasSiteRights]
    rights = {"retrieve": "view_account", "partial_update": ("edit_account", email_right)}

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        serializer.instance = services.user_update(
            user=serializer.instance, expected=self.expected(), **serializer.validated_data
        )


class JWKSView(StrictQueryMixin, APIView):
    """The public keys that verify this service's tokens (RFC 7517 JWK Set)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    uses_database = False  # answered from the keys in memory (api/schema.py)

    @extend_schema(operation_id="jwks_get", responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        response = Response(settings.SIGNING_KEYS.jwks)
        response["Cache-Control"] = "public, max-age=300"
        return response


def token_created(request, *, user, **fields) -> Response:
    """Create a token for `user` (a person's own, or a project's bot) and answer with its
    secret, shown this once: not to be cached, as a token pair is not."""
    token, secret = services.pat_create(
        user=user, actor=Caller.of(request), ip=client_ip(request), **fields
    )
    token.secret = secret
    return Response(
        PersonalAccessTokenCreatedSerializer(token).data,
        status=status.HTTP_201_CREATED,
        headers={"Cache-Control": "no-store"},
    )


class PersonalAccessTokenViewSet(
    StrictQueryMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The signed-in user's personal access tokens. A token may manage them only with the
    `tokens:write` scope, and never beyond its own scopes and projects."""

    serializer_class = PersonalAccessTokenSerializer
    permission_classes = [permissions.IsAuthenticated, HasSiteRights]
    rights = dict.fromkeys(("list", "create", "destroy", "metadata"), "manage_tokens")
    queryset = PersonalAccessToken.objects.none()  # for the schema; get_queryset() scopes it
    lookup_url_kwarg = "token_id"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return PersonalAccessToken.objects.filter(
            user=self.request.user, revoked_at__isnull=True
        ).prefetch_related("projects")

    def get_serializer_class(self):
        if self.request.method == "POST":
            return PersonalAccessTokenCreateSerializer
        return PersonalAccessTokenSerializer

    def get_serializer_context(self):
        # What a new token may be limited to (a token's own projects, if it is limited).
        visible = projects_visible(Caller.of(self.request))
        return {**super().get_serializer_context(), "visible_projects": visible}

    @extend_schema(
        request=PersonalAccessTokenCreateSerializer,
        responses={201: PersonalAccessTokenCreatedSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return token_created(request, user=request.user, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.pat_revoke(token=instance, actor=self.request.user, ip=client_ip(self.request))
