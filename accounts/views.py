from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import StrictQueryMixin
from config.http import ConditionalMixin

from . import services
from .models import User
from .serializers import (
    LoginSerializer,
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

    @extend_schema(responses={201: UserSerializer})
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

    @extend_schema(
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

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_refresh(raw_refresh=serializer.validated_data["refresh_token"])
        return token_response(pair)


class LogoutView(StrictQueryMixin, generics.GenericAPIView):
    """Revoke the refresh token's family and the access token sent with this request."""

    serializer_class = RefreshTokenSerializer

    @extend_schema(responses={204: None})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(
            user=request.user,
            raw_refresh=serializer.validated_data["refresh_token"],
            access_token=request.auth,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(StrictQueryMixin, ConditionalMixin, generics.RetrieveUpdateAPIView):
    """The signed-in user; email and display name can be changed."""

    serializer_class = UserSerializer
    queryset = User.objects.all()  # the row a change locks (ConditionalMixin.locked_if_match)
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.instance = services.user_update(
                user=self.locked_if_match(serializer.instance), **serializer.validated_data
            )


class JWKSView(StrictQueryMixin, APIView):
    """The public keys that verify this service's tokens (RFC 7517 JWK Set)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        response = Response(settings.SIGNING_KEYS.jwks)
        response["Cache-Control"] = "public, max-age=300"
        return response
