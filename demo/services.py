"""Demo data for trying the tracker and for benchmarks (`manage.py seed_demo`).

`demo_seed()` makes the base demo: users in every role, projects, labels, and issues in
every status walked there through the workflow services, so their history is real. It
finds what an earlier run made by natural keys (usernames, project keys, titles) and
only adds what is missing. `demo_issues_bulk()` adds any number of issues fast: plain
bulk inserts in batches, numbered per project with one counter bump per batch.
"""

import random
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, reset_queries, transaction
from django.db.models import DateField, F
from django.utils import timezone
from faker import Faker

from accounts.factories import UserFactory
from accounts.models import User
from comments.models import Comment
from issues.models import Issue
from issues.services import issue_comment, issue_create, issue_transition, label_create
from projects.models import Membership, Project, Role
from projects.services import membership_add, project_create

from .data import (
    ASSIGNED,
    CLOSED_RESOLUTIONS,
    COMMENTS,
    DEMO_ADMIN,
    DEMO_ISSUES,
    DEMO_LABELS,
    DEMO_PROJECTS,
    DEMO_USERS,
    LABELS,
    PRIORITIES,
    RESOLUTION_WEIGHTS,
    STATUS_WEIGHTS,
    STATUSES,
    TYPES,
    WORKING,
)


@dataclass
class DemoSummary:
    """How many of each kind of thing a run added."""

    created: Counter = field(default_factory=Counter)


class DemoConflict(Exception):
    """The database holds something with a demo name that the demo did not make."""


def _user(username: str, display_name: str, **extra) -> tuple[User, bool]:
    user = User.objects.filter(username__iexact=username).first()
    if user is not None:
        return user, False
    return UserFactory(username=username, display_name=display_name, **extra), True


def _project(owner: User, key: str, name: str, visibility: str, description: str):
    project = Project.objects.filter(key=key).first()
    if project is None:
        return (
            project_create(
                creator=owner, key=key, name=name, description=description, visibility=visibility
            ),
            True,
        )
    if not project.memberships.filter(user=owner, role=Role.OWNER).exists():
        raise DemoConflict(
            f"Project {key} exists and is not a demo project ({owner} does not own it); "
            "seed an empty database."
        )
    return project, False


def _walk(issue: Issue, status: str, people: dict[str, User], detour: bool) -> None:
    """Take `issue` to `status` through the workflow, as the people of the demo would."""
    dev, reviewer = people["demo-developer"], people["demo-reviewer"]
    move = issue_transition
    if status == Issue.Status.CLOSED and not detour:
        move(issue=issue, user=people["demo-reporter"], status="closed", resolution="wont_fix")
        return
    if status == Issue.Status.OPEN:
        return
    move(issue=issue, user=dev, status="in_progress")
    if status == Issue.Status.IN_PROGRESS and not detour:
        return
    move(issue=issue, user=dev, status="in_review")
    if status == Issue.Status.IN_PROGRESS:
        note = "Needs a test for the empty case before it can go in."
        move(issue=issue, user=reviewer, status="in_progress", comment=note)
        return
    if status == Issue.Status.IN_REVIEW:
        return
    move(issue=issue, user=reviewer, status="resolved", resolution="fixed")
    if status == Issue.Status.CLOSED:
        move(issue=issue, user=people["demo-maintainer"], status="closed")


def demo_seed() -> DemoSummary:
    """Make the base demo data, adding only what an earlier run did not make."""
    faker = Faker()
    summary = DemoSummary()
    with transaction.atomic():
        _, created = _user(*DEMO_ADMIN, role=User.SiteRole.ADMIN, is_staff=True, is_superuser=True)
        summary.created["users"] += created
        people = {}
        for username, display_name, _ in DEMO_USERS:
            people[username], created = _user(username, display_name)
            summary.created["users"] += created

    owner = people["demo-owner"]
    for index, (key, name, visibility, description) in enumerate(DEMO_PROJECTS):
        with transaction.atomic():
            project, created = _project(owner, key, name, visibility, description)
            summary.created["projects"] += created
            for username, _, role in DEMO_USERS:
                member = people[username]
                if role is not None and not project.memberships.filter(user=member).exists():
                    membership_add(project=project, user=member, role=role)
                    summary.created["memberships"] += 1
            labels = {label.name.lower(): label for label in project.labels.all()}
            for label_name, color in DEMO_LABELS:
                if label_name not in labels:
                    labels[label_name] = label_create(
                        project=project, name=label_name, color=color
                    )
                    summary.created["labels"] += 1

            for position, (title, type_, priority, label_names) in enumerate(DEMO_ISSUES):
                if project.issues.filter(title=title).exists():
                    continue
                status = STATUSES[(position + index) % len(STATUSES)]
                needs_assignee = status != Issue.Status.OPEN or position % 2 == 1
                issue = issue_create(
                    project=project,
                    reporter=people["demo-reporter"],
                    title=title,
                    description=faker.paragraph(nb_sentences=4),
                    type=type_,
                    priority=priority,
                    assignee=people["demo-developer"] if needs_assignee else None,
                    labels=[labels[n] for n in label_names],
                )
                issue_comment(
                    issue=issue, author=people["demo-maintainer"], body=faker.paragraph()
                )
                _walk(issue, status, people, detour=position >= len(STATUSES))
                summary.created["issues"] += 1
    return summary


# -- many issues, fast ------------------------------------------------------------------


@dataclass
class _Cast:
    """Who may report, be assigned and comment in a project, and its labels (ids)."""

    project: Project
    reporters: list[int]
    developers: list[int]
    labels: list[int]


def _cast(project: Project) -> _Cast:
    members = Membership.objects.filter(project=project, user__is_active=True)
    reporters = list(members.filter(role__gte=Role.REPORTER).values_list("user_id", flat=True))
    return _Cast(
        project=project,
        reporters=reporters or [project.created_by_id],
        developers=list(
            members.filter(role__gte=Role.DEVELOPER).values_list("user_id", flat=True)
        ),
        labels=list(project.labels.values_list("pk", flat=True)),
    )


@contextmanager
def _backdated(model) -> Iterator[None]:
    """Let bulk rows keep the timestamps they are given instead of `now`."""
    fields = [f for f in model._meta.concrete_fields if isinstance(f, DateField)]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _insert(model, rows: list[dict]) -> list[int]:
    """Insert rows (dicts of column values) and return their ids, in order.

    On PostgreSQL one INSERT ... SELECT FROM unnest() per call: a parameter per column
    instead of per value, and no model instances. (bulk_create() does the same for most
    models, but not for Issue: its search vector column is not of a type it unnests.)
    Elsewhere bulk_create()."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        # (A protected FSM field may be set once, when the instance is constructed.)
        with _backdated(model):
            return [obj.pk for obj in model.objects.bulk_create(model(**row) for row in rows)]
    fields = [model._meta.get_field(name) for name in rows[0]]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    # Names come from the model's metadata, values go as parameters.
    sql = f"INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608
    sql += " RETURNING id"
    with connection.cursor() as cursor:
        cursor.execute(sql, [[row[f.attname] for row in rows] for f in fields])
        return [pk for (pk,) in cursor.fetchall()]


def _allocate_numbers(counts: Counter) -> dict[int, Iterator[int]]:
    """Reserve `counts[project_id]` consecutive numbers in each project: one UPDATE each,
    in a fixed order, holding the project rows until the batch commits."""
    numbers = {}
    for project_id in sorted(counts):
        count = counts[project_id]
        projects = Project.objects.filter(pk=project_id)
        projects.update(last_issue_number=F("last_issue_number") + count)
        last = projects.values_list("last_issue_number", flat=True).get()
        numbers[project_id] = iter(range(last - count + 1, last + 1))
    return numbers


class _Text:
    """Pools of generated titles and bodies: Faker per row would dominate a large run."""

    def __init__(self, faker: Faker, rng: random.Random):
        self.rng = rng
        self.titles = [faker.sentence(nb_words=rng.randint(4, 9))[:-1] for _ in range(2000)]
        self.bodies = [faker.paragraph(nb_sentences=rng.randint(1, 6)) for _ in range(500)]

    def title(self) -> str:
        return self.rng.choice(self.titles)

    def body(self) -> str:
        return self.rng.choice(self.bodies)


def _pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _bulk_issue(cast: _Cast, number: int, text: _Text, now) -> dict:
    rng = text.rng
    statuses = STATUS_WEIGHTS
    if not cast.developers:  # nobody could have started work on it
        statuses = {s: w for s, w in statuses.items() if s not in WORKING}
    status = _pick(rng, statuses)
    created = now - timedelta(seconds=rng.randrange(365 * 24 * 3600))
    updated = created + (now - created) * rng.random()
    assignee = None
    if cast.developers and (status in WORKING or rng.random() < ASSIGNED.get(status, 0.8)):
        assignee = rng.choice(cast.developers)
    resolution, resolved_at, closed_at = "", None, None
    if status == "resolved":
        resolution, resolved_at = _pick(rng, RESOLUTION_WEIGHTS), updated
    elif status == "closed":
        resolution, closed_at = _pick(rng, CLOSED_RESOLUTIONS), updated
        if resolution == "fixed":
            resolved_at = created + (updated - created) * rng.random()
    due = (updated + timedelta(days=rng.randint(1, 60))).date() if rng.random() < 0.2 else None
    return {
        "project_id": cast.project.pk,
        "number": number,
        "title": text.title(),
        "description": text.body(),
        "type": rng.choice(TYPES),
        "priority": rng.choice(PRIORITIES),
        "status": status,
        "resolution": resolution,
        "reporter_id": rng.choice(cast.reporters),
        "assignee_id": assignee,
        "due_date": due,
        "created_at": created,
        "updated_at": updated,
        "resolved_at": resolved_at,
        "closed_at": closed_at,
    }


def demo_issues_bulk(
    *,
    count: int,
    projects: list[Project],
    batch_size: int = 5000,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Add `count` issues to `projects` with labels and some comments, in batches; each
    batch is one transaction. No history entries: only the workflow service writes those."""
    rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
    faker = Faker()
    faker.seed_instance(seed)
    text = _Text(faker, rng)
    casts = {project.pk: _cast(project) for project in projects}
    done = 0
    while done < count:
        size = min(batch_size, count - done)
        chosen = rng.choices(list(casts), k=size)
        now = timezone.now()
        with transaction.atomic():
            numbers = _allocate_numbers(Counter(chosen))
            issues = [_bulk_issue(casts[pk], next(numbers[pk]), text, now) for pk in chosen]
            taggings, comments = [], []
            for pk, issue in zip(_insert(Issue, issues), issues, strict=True):
                cast = casts[issue["project_id"]]
                for label in rng.sample(cast.labels, min(len(cast.labels), rng.choice(LABELS))):
                    taggings.append({"issue_id": pk, "label_id": label})
                for _ in range(rng.choice(COMMENTS)):
                    age = issue["updated_at"] - issue["created_at"]
                    at = issue["created_at"] + age * rng.random()
                    comments.append(
                        {
                            "issue_id": pk,
                            "author_id": rng.choice(cast.reporters),
                            "body": text.body(),
                            "created_at": at,
                            "updated_at": at,
                            "edited": False,
                        }
                    )
            _insert(Issue.labels.through, taggings)
            _insert(Comment, comments)
        done += size
        reset_queries()  # with DEBUG on, Django keeps every query's SQL, data included
        if progress is not None:
            progress(done, count)
    return done


def demo_projects() -> list[Project]:
    """The demo's projects that are not archived (where bulk issues go by default)."""
    keys = [key for key, *_ in DEMO_PROJECTS]
    return list(Project.objects.filter(key__in=keys, archived_at=None).order_by("key"))
