"""The Dockerfile, .dockerignore and docker-compose.yml agree with how the service runs."""

import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def instructions(keyword):
    return [line for line in DOCKERFILE.splitlines() if line.startswith(f"{keyword} ")]


def runtime_stage():
    return DOCKERFILE.split(" AS runtime", 1)[1]


def test_image_runs_gunicorn_with_the_config_file():
    (cmd,) = instructions("CMD")

    assert json.loads(cmd.removeprefix("CMD ")) == [
        "gunicorn",
        "--config",
        "gunicorn.conf.py",
        "config.wsgi",
    ]


def test_image_runs_as_a_numeric_non_root_user():
    (user,) = instructions("USER")

    uid, gid = user.removeprefix("USER ").split(":")
    assert int(uid) > 0 and int(gid) > 0


def test_image_checks_its_health_on_the_liveness_path():
    assert "HEALTHCHECK" in runtime_stage()
    assert "/health" in runtime_stage().split("HEALTHCHECK", 1)[1]


def test_runtime_stage_installs_no_packages_or_compilers():
    runtime = runtime_stage()

    for tool in ("apt-get", "gcc", "build-essential", "pip install"):
        assert tool not in runtime, tool
    assert "collectstatic" in runtime


def test_build_context_keeps_secrets_and_local_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    # Rooted at the context; "**/" matches in every folder.
    assert {"**/.env", ".keys", "**/*.pem", "**/*.key", ".git", ".venv", "**/*.sqlite3"} <= ignored
    assert {"**/.coverage", "htmlcov", "**/.pytest_cache", "tests"} <= ignored


def test_compose_web_waits_for_healthy_services_and_the_migration():
    services = COMPOSE["services"]

    assert services["web"]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert services["migrate"]["restart"] == "no"
    assert "command" not in services["web"]


def test_compose_database_and_redis_have_healthchecks_and_a_named_volume():
    services = COMPOSE["services"]

    assert "healthcheck" in services["db"] and "healthcheck" in services["redis"]
    (volume,) = services["db"]["volumes"]
    assert volume.split(":")[0] in COMPOSE["volumes"]


def test_compose_reads_the_env_file():
    assert COMPOSE["services"]["web"]["env_file"] == [{"path": ".env", "required": True}]


def test_compose_trusts_no_forwarded_for():
    """Nothing stands in front of Compose's web: a forwarding header is the client's own."""
    assert COMPOSE["services"]["web"]["environment"]["NUM_PROXIES"] == "0"


def test_compose_metrics_are_off_until_the_env_file_sets_a_token():
    """web publishes its port with nothing in front: /metrics needs METRICS_TOKEN, which
    .env (copied from .env.sample, blank) provides and nothing in the file overrides."""
    sample = (ROOT / ".env.sample").read_text().splitlines()

    assert "METRICS_TOKEN=" in sample
    for name, service in COMPOSE["services"].items():
        assert "METRICS_TOKEN" not in service.get("environment", {}), name


def test_compose_runs_celery_worker_and_beat_like_web():
    services = COMPOSE["services"]

    assert services["worker"]["command"] == ["celery", "-A", "config", "worker", "--loglevel=INFO"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    for name in ("worker", "beat"):
        service = services[name]
        assert service["image"] == services["web"]["image"], name
        assert service["environment"] == services["web"]["environment"], name
        assert service["env_file"] == services["web"]["env_file"], name
        assert service["depends_on"] == services["web"]["depends_on"], name
    # The image's HEALTHCHECK asks gunicorn's /health, which neither serves.
    assert "inspect ping" in services["worker"]["healthcheck"]["test"][-1]
    assert services["beat"]["healthcheck"] == {"disable": True}
