"""What every scenario promises about the data: every write a client was told succeeded is
stored exactly once (a write whose answer was lost may or may not be), and nothing is
half-written."""

from collections import Counter

import psycopg

from harness.report import check

from .service import Service
from .workload import Run


def stored(stack: Service, key: str) -> dict:
    """What the database holds of the project `key`."""
    with psycopg.connect(stack.database_url()) as conn:

        def values(query: str) -> list:
            return [row[0] for row in conn.execute(query, [project_id])]

        def count(query: str) -> int:
            return conn.execute(query, [project_id]).fetchone()[0]

        project_id, last_number = conn.execute(
            "SELECT id, last_issue_number FROM projects_project WHERE key = %s", [key]
        ).fetchone()
        return {
            "last_number": last_number,
            "titles": Counter(values("SELECT title FROM issues_issue WHERE project_id = %s")),
            "numbers": sorted(values("SELECT number FROM issues_issue WHERE project_id = %s")),
            "bodies": Counter(
                values(
                    "SELECT c.body FROM comments_comment c"
                    " JOIN issues_issue i ON i.id = c.issue_id WHERE i.project_id = %s"
                )
            ),
            "events": dict(
                conn.execute(
                    "SELECT e.kind, count(*) FROM issues_issueevent e"
                    " JOIN issues_issue i ON i.id = e.issue_id WHERE i.project_id = %s"
                    " GROUP BY e.kind",
                    [project_id],
                ).fetchall()
            ),
            "without_created": count(
                "SELECT count(*) FROM issues_issue i WHERE i.project_id = %s AND 1 <> ("
                " SELECT count(*) FROM issues_issueevent e"
                " WHERE e.issue_id = i.id AND e.kind = 'created')"
            ),
            "without_event": count(
                "SELECT count(*) FROM comments_comment c JOIN issues_issue i"
                " ON i.id = c.issue_id WHERE i.project_id = %s AND 1 <> (SELECT count(*)"
                " FROM issues_issueevent e WHERE e.comment_id = c.id AND e.kind = 'commented')"
            ),
            "wrong_status": count(
                "SELECT count(*) FROM issues_issue i WHERE i.project_id = %s"
                " AND i.status <> COALESCE((SELECT e.to_status FROM issues_issueevent e"
                " WHERE e.issue_id = i.id AND e.kind IN ('created', 'transitioned')"
                " ORDER BY e.id DESC LIMIT 1), 'open')"
            ),
        }


def check_writes(stack: Service, run: Run) -> dict:
    """Compare what clients were told with what is stored; check nothing is half-written.
    The figures: (acknowledged, found) creates, comments and moves."""
    name = run.name
    db = stored(stack, run.project)
    titles, bodies, numbers = db["titles"], db["bodies"], db["numbers"]
    moved = db["events"].get("transitioned", 0)

    created = {t: k for c in run.clients for t, k in c.created.items()} | run.probe_created
    comments = [b for c in run.clients for b in c.comments]
    moves = sum(c.moves for c in run.clients)
    figures = {
        "creates": (len(created), sum(titles.values())),
        "comments": (len(comments), sum(bodies.values())),
        "moves": (moves, moved),
    }
    missing = [t for t in created if titles[t] != 1]
    check(
        f"{name}: every acknowledged create is stored exactly once",
        created and not missing,
        f"{len(created)} acknowledged, {sum(titles.values())} stored, "
        f"{len(missing)} missing or doubled",
    )
    extra = sum(titles.values()) - len(created)
    check(
        f"{name}: stored creates beyond those acknowledged had their answer lost",
        0 <= extra <= run.unknown("create"),
        f"{extra} extra, {run.unknown('create')} unanswered",
    )
    lost = [b for b in comments if bodies[b] != 1]
    extra = sum(bodies.values()) - len(comments)
    check(
        f"{name}: every acknowledged comment is stored exactly once",
        not lost and 0 <= extra <= run.unknown("comment"),
        f"{len(comments)} acknowledged, {sum(bodies.values())} stored",
    )
    check(
        f"{name}: every acknowledged transition is recorded",
        0 <= moved - moves <= run.unknown("move"),
        f"{moves} acknowledged, {moved} recorded",
    )
    check(
        f"{name}: no partial writes (numbers gapless, one event per issue and comment, "
        "status matches history)",
        numbers == list(range(1, len(numbers) + 1))
        and db["last_number"] == len(numbers)
        and db["without_created"] == 0
        and db["without_event"] == 0
        and db["wrong_status"] == 0,
        f"{len(numbers)} issues, last number {db['last_number']}, {db['without_created']} "
        f"without their created event, {db['without_event']} comments without theirs, "
        f"{db['wrong_status']} off-history",
    )
    return figures
