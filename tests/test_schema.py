"""The API contract: the committed openapi.yaml is what the code generates, and it is valid."""

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

COMMITTED = Path(__file__).resolve().parent.parent / "openapi.yaml"


@pytest.fixture(scope="module")
def generated(tmp_path_factory, django_db_blocker):
    path = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    with django_db_blocker.unblock():
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return path.read_text()


def test_committed_schema_matches_the_code(generated):
    assert generated == COMMITTED.read_text(), (
        "openapi.yaml is stale: regenerate it with "
        "`.venv/bin/python manage.py spectacular --validate --fail-on-warn --file openapi.yaml`"
    )


def test_every_operation_documents_errors_and_auth(generated):
    schema = yaml.safe_load(generated)
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            assert "429" in responses, (method, path)
            assert any(code.startswith("2") for code in responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    status = schema["paths"]["/api/v1/issues/{key}/status"]["post"]
    assert {"400", "401", "403", "404", "409", "412"} <= set(status["responses"])
    assert "If-Match" in [p["name"] for p in status["parameters"]]


def test_creates_document_the_404_of_a_replay_the_caller_can_no_longer_see(generated):
    paths = yaml.safe_load(generated)["paths"]
    for path in ("/api/v1/issues", "/api/v1/projects"):
        assert "404" in paths[path]["post"]["responses"], path


def test_docs_pages_are_served_with_local_assets(client):
    for url in ("/api/v1/docs/", "/api/v1/redoc/"):
        response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "/static/drf_spectacular_sidecar/" in page
        assert "cdn.jsdelivr" not in page
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Issue Tracker API"
