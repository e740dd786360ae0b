"""Resilience of notification mail, against real servers: scripts/resilience_mail.py with
small numbers (its docstring says what it does). An SMTP server that is down during a
burst, then up: every mail arrives once. A Celery worker killed mid-batch (SIGKILL):
nothing is lost, and a mail arrives twice only if the SMTP server had accepted it when
the worker died; the script reports how many."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_mail_survives_an_smtp_outage_and_a_killed_worker():
    small = ["--issues", "3", "--watchers", "6", "--lease", "3", "--timeout", "120"]
    done = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(ROOT / "scripts" / "resilience_mail.py"), *small],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    assert "smtp-down: OK" in report and "worker-kill: OK" in report
    lost = [line.split()[-1] for line in done.stdout.splitlines() if line.split()[:1] == ["lost"]]
    assert lost == ["0", "0"]
    print(report)  # the figures, for whoever runs it with -s
