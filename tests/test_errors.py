"""Every API error is an RFC 9457 problem document with one shape."""

import json

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions

from accounts.models import TokenFamily, User
from api import exceptions as problems

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "instance"}


def _assert_problem(response, status: int, code: str, instance: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_KEYS <= set(body) <= PROBLEM_KEYS | {"errors"}
    assert body["type"] == "about:blank"
    assert body["status"] == status
    assert body["code"] == code
    assert body["instance"] == instance
    assert body["detail"]
    return body


def test_an_unknown_api_url_is_a_404_problem(api_client):
    response = api_client.get("/api/v1/no-such-thing")

    body = _assert_problem(response, 404, "not_found", "/api/v1/no-such-thing")
    assert body["title"] == "Not Found"


def test_malformed_json_is_a_400_problem(api_client, user, password):
    response = api_client.post(
        "/api/v1/auth/login",
        data='{"username": "' + user.username + '", "password": ',
        content_type="application/json",
    )

    body = _assert_problem(response, 400, "parse_error", "/api/v1/auth/login")
    assert "JSON" in body["detail"]
    assert not TokenFamily.objects.exists()


def test_a_wrong_method_is_a_405_problem(api_client):
    response = api_client.get("/api/v1/auth/register")

    body = _assert_problem(response, 405, "method_not_allowed", "/api/v1/auth/register")
    assert body["title"] == "Method Not Allowed"
    assert "GET" in body["detail"]
    assert not User.objects.exists()


def test_an_unsupported_media_type_is_a_415_problem(api_client):
    response = api_client.post(
        "/api/v1/auth/register", data="<xml/>", content_type="application/xml"
    )

    _assert_problem(response, 415, "unsupported_media_type", "/api/v1/auth/register")
    assert not User.objects.exists()


def test_unauthenticated_is_a_401_problem_with_a_challenge(api_client, user):
    response = api_client.get("/api/v1/me")

    body = _assert_problem(response, 401, "not_authenticated", "/api/v1/me")
    assert body["title"] == "Unauthorized"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert user.username not in response.content.decode()


def test_invalid_input_names_every_field(api_client):
    response = api_client.post("/api/v1/auth/register", {"email": "not-an-email"}, format="json")

    body = _assert_problem(response, 400, "invalid", "/api/v1/auth/register")
    assert body["detail"] == "Invalid input in: email, password, username."
    assert sorted(body["errors"], key=lambda e: e["field"]) == [
        {"field": "email", "message": "Enter a valid email address.", "code": "invalid"},
        {"field": "password", "message": "This field is required.", "code": "required"},
        {"field": "username", "message": "This field is required.", "code": "required"},
    ]
    assert not User.objects.exists()


def test_the_browsable_api_still_renders_errors_as_html(api_client):
    response = api_client.get("/api/v1/me", HTTP_ACCEPT="text/html")

    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/html")
    assert b"Authentication credentials were not provided." in response.content


# The handler itself, for errors no endpoint raises yet.


def _handle(exc):
    request = RequestFactory().get("/api/v1/things/7")
    return problems.problem_exception_handler(exc, {"request": request, "view": None})


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404("no such thing"), 404, "not_found"),
        (DjangoPermissionDenied(), 403, "permission_denied"),
        (problems.Conflict(), 409, "conflict"),
    ],
)
def test_django_and_domain_errors_map_to_problems(exc, status, code):
    response = _handle(exc)

    assert response.status_code == status
    assert response.data["code"] == code
    assert response.data["instance"] == "/api/v1/things/7"
    assert response.content_type == "application/problem+json"


def test_a_django_validation_error_is_a_400_naming_its_fields():
    response = _handle(DjangoValidationError({"key": ["Already used."]}))

    assert response.status_code == 400
    assert response.data["errors"] == [
        {"field": "key", "message": "Already used.", "code": "invalid"}
    ]


def test_nested_errors_are_flattened_into_paths():
    exc = exceptions.ValidationError(
        {"labels": [{"name": ["Too long."]}, {}], "non_field_errors": ["Pick one."]}
    )

    response = _handle(exc)

    assert response.data["errors"] == [
        {"field": "labels.0.name", "message": "Too long.", "code": "invalid"},
        {"field": "non_field_errors", "message": "Pick one.", "code": "invalid"},
    ]
    assert response.data["detail"] == "Invalid input in: labels.0.name."


def test_a_non_field_error_alone_is_the_detail():
    response = _handle(exceptions.ValidationError("Pick one."))

    assert response.data["detail"] == "Pick one."
    assert response.data["errors"] == [
        {"field": "non_field_errors", "message": "Pick one.", "code": "invalid"}
    ]


def test_a_non_api_error_is_left_to_django():
    assert _handle(ValueError("boom")) is None


@pytest.mark.parametrize(
    ("handler", "status", "code"),
    [
        (problems.bad_request, 400, "bad_request"),
        (problems.permission_denied, 403, "permission_denied"),
        (problems.not_found, 404, "not_found"),
    ],
)
def test_django_error_handlers_answer_with_problems(handler, status, code):
    request = RequestFactory().get("/anywhere")

    response = handler(request, exception=Exception())

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert (body["status"], body["code"], body["instance"]) == (status, code, "/anywhere")


def test_a_server_error_is_a_500_problem_without_details():
    response = problems.server_error(RequestFactory().get("/api/v1/me"))

    assert response.status_code == 500
    assert json.loads(response.content) == {
        "type": "about:blank",
        "title": "Internal Server Error",
        "status": 500,
        "detail": "An unexpected error occurred.",
        "code": "server_error",
        "instance": "/api/v1/me",
    }
