from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .serializers import (
    LoginSerializer,
    RefreshTokenSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from .throttles import LoginThrottle, RefreshThrottle, RegisterThrottle


class PublicAuthView(generics.GenericAPIView):
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
    """Exchange a username (or email) and password for a token pair."""

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
        return Response(pair.as_response())


class RefreshView(PublicAuthView):
    """Rotate a refresh token into a new token pair."""

    serializer_class = RefreshTokenSerializer
    throttle_classes = [RefreshThrottle]

    @extend_schema(responses={200: TokenPairSerializer})
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.token_refresh(raw_refresh=serializer.validated_data["refresh_token"])
        return Response(pair.as_response())


class LogoutView(generics.GenericAPIView):
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


class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in user; email and display name can be changed."""

    serializer_class = UserSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        services.user_update(user=serializer.instance, **serializer.validated_data)


class JWKSView(APIView):
    """The public keys that verify this service's tokens (RFC 7517 JWK Set)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        response = Response(settings.SIGNING_KEYS.jwks)
        response["Cache-Control"] = "public, max-age=300"
        return response
