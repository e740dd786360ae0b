"""Notifications: a real SMTP server (aiosmtpd) on a free local port, and the steps the
worker and the beat take, run in the test (tasks are eager, but the test's transaction
never commits, so on-commit hooks do not run by themselves)."""

import email
import email.policy
import socket
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from notifications import consumer, sending
from notifications.models import Email
from projects.models import Role
from tests.factories import IssueFactory, MembershipFactory, ProjectFactory, UserFactory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Mailbox:
    """What the SMTP server accepted: parsed messages, and their recipients."""

    received: list = field(default_factory=list)
    # The answer to every message: "250 ..." takes it; "451 ..." (try later), "550 ..."
    # (never) refuse it.
    answer: str = "250 Message accepted"

    async def handle_DATA(self, server, session, envelope):
        if not self.answer.startswith("250"):
            return self.answer
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def to(self, address: str) -> list:
        return [message for rcpt, message in self.received if address in rcpt]

    def clear(self) -> None:
        self.received.clear()


@pytest.fixture
def smtp(settings):
    """A real SMTP server the service sends to (settings point at it)."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    mailbox.port = port
    yield mailbox
    controller.stop()


@pytest.fixture
def notify():
    """The worker reading the outbox: every event committed so far becomes notifications."""
    return consumer.events_consume


@pytest.fixture
def deliver():
    """The beat and the worker sending mail: batches closed as at `after` seconds from now
    (past every window by default), digests too if asked, then every due mail sent. The
    mails sent."""

    def run(after: float = 3600, digests: bool = False) -> list[Email]:
        later = timezone.now() + timedelta(seconds=after)
        ids = sending.batches_close(now=later)
        if digests:
            ids += sending.digests_close(now=later)
        return [sending.email_send(email_id=pk, now=later) for pk in ids]

    return run


@dataclass
class Team:
    project: object
    owner: object
    developer: object
    reviewer: object
    reporter: object
    viewer: object
    outsider: object
    issue: object


@pytest.fixture
def team(db):
    """A private project with a person in each role, and an issue the reporter reported,
    assigned to the developer."""
    project = ProjectFactory(visibility="private")
    people = {}
    for name, role in [
        ("owner", Role.OWNER),
        ("developer", Role.DEVELOPER),
        ("reviewer", Role.DEVELOPER),
        ("reporter", Role.REPORTER),
        ("viewer", Role.VIEWER),
    ]:
        people[name] = UserFactory(username=f"{name}-{project.key.lower()}")
        MembershipFactory(project=project, user=people[name], role=role)
    issue = IssueFactory(
        project=project,
        reporter=people["reporter"],
        assignee=people["developer"],
        title="Login fails",
    )
    return Team(project=project, outsider=UserFactory(), issue=issue, **people)
