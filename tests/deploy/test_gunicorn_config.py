import os
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

# What a container must listen on to be reachable from outside itself.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
CONFIG_FILE = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"
GUNICORN_VARIABLES = [
    "GUNICORN_BIND",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_MAX_REQUESTS_JITTER",
    "FORWARDED_ALLOW_IPS",
    "LOG_LEVEL",
    "PROMETHEUS_MULTIPROC_DIR",
]


@pytest.fixture
def load(monkeypatch):
    """gunicorn.conf.py evaluated under the given environment, as gunicorn reads it."""
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def load(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        # The file writes this variable (for the workers); registering it here undoes that.
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", env.get("PROMETHEUS_MULTIPROC_DIR", ""))
        return runpy.run_path(str(CONFIG_FILE))

    return load


def as_gunicorn_config(namespace: dict) -> Config:
    """Feed the file's values through gunicorn's own validators."""
    cfg = Config()
    for name, value in namespace.items():
        if name in cfg.settings:
            cfg.set(name, value)
    return cfg


def test_every_public_name_is_a_gunicorn_setting(load):
    """A misspelt setting would be ignored by gunicorn without a word."""
    namespace = load()
    settings = Config().settings
    public = {
        name
        for name, value in namespace.items()
        if not name.startswith("_") and not isinstance(value, type(os))
    }

    assert public - set(settings) == set()


def test_defaults_suit_a_two_core_pod(load):
    cfg = as_gunicorn_config(load())

    assert cfg.address == [(ALL_INTERFACES, 8000)]
    assert cfg.worker_class_str == "gthread"
    assert cfg.workers == 2
    assert cfg.threads == 4
    assert cfg.timeout == 30
    assert cfg.graceful_timeout == 25
    assert cfg.max_requests == 1000
    assert 0 < cfg.max_requests_jitter < cfg.max_requests
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert cfg.accesslog == "-"
    assert cfg.logger_class.__name__ == "GunicornLogger"
    assert cfg.control_socket_disable is True


def test_values_come_from_the_environment(load):
    cfg = as_gunicorn_config(
        load(
            PORT="9000",
            WEB_CONCURRENCY="5",
            GUNICORN_THREADS="8",
            GUNICORN_TIMEOUT="60",
            GUNICORN_MAX_REQUESTS="0",
            FORWARDED_ALLOW_IPS="*",
            LOG_LEVEL="WARNING",
        )
    )

    assert cfg.address == [(ALL_INTERFACES, 9000)]
    assert (cfg.workers, cfg.threads, cfg.timeout, cfg.max_requests) == (5, 8, 60, 0)
    assert cfg.forwarded_allow_ips == ["*"]
    assert cfg.loglevel == "warning"


def test_blank_variables_count_as_unset(load):
    """Docker Compose passes .env.sample's blank lines on as empty strings."""
    cfg = as_gunicorn_config(load(GUNICORN_BIND="", WEB_CONCURRENCY="", PORT=""))

    assert cfg.address == [(ALL_INTERFACES, 8000)]
    assert cfg.workers == 2


def test_bind_address_can_be_given_whole(load):
    assert as_gunicorn_config(load(GUNICORN_BIND="127.0.0.1:8123")).address == [
        ("127.0.0.1", 8123)
    ]


def test_prometheus_files_are_cleared_on_start_and_dead_workers_dropped(load, tmp_path):
    directory = tmp_path / "prometheus"
    namespace = load(PROMETHEUS_MULTIPROC_DIR=str(directory))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)

    namespace["on_starting"](None)
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "gauge_livesum_123.db").write_bytes(b"stale")
    (directory / "keep.txt").write_text("not ours")
    namespace["child_exit"](None, SimpleNamespace(pid=123))
    assert not (directory / "gauge_livesum_123.db").exists()
    assert (directory / "counter_123.db").exists()

    namespace["on_starting"](None)
    assert sorted(path.name for path in directory.iterdir()) == ["keep.txt"]


def test_a_worker_freezes_what_it_loaded_out_of_the_collectors_reach(load):
    import gc

    hook = load()["post_worker_init"]
    before = gc.get_freeze_count()
    try:
        hook(SimpleNamespace())
        # Everything alive now is in the permanent generation: a full collection skips it.
        assert gc.get_freeze_count() > max(before, 10_000)
    finally:
        gc.unfreeze()
