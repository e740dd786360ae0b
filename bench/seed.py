"""Seed a migrated database with realistic tracker data, fast, in plain SQL.

    DJANGO_SETTINGS_MODULE=bench.settings python -m bench.seed --issues 1000000

Users, projects, memberships and labels are few and inserted row by row. Issues, their
labels, comments and "created" events are made by `INSERT ... SELECT generate_series`
inside PostgreSQL, drawing titles, descriptions and comment bodies from pools generated
here (so one million issues need no million round trips). The search trigger is switched
off for the bulk insert: each issue's search_vector is computed in the same INSERT from
vectors precomputed once per pool entry, with the trigger's own expression, which is
what makes a million rows take minutes, not hours. Deterministic: the same --issues gives
the same data.

What it makes (see bench/run.py for the scenarios that use it):
- 50 users: `bench` (the benchmark's caller, a plain user, not a site admin) and 49 others,
  all with the password in PASSWORD; each a member of a few projects with mixed roles.
- 12 projects of very different sizes (the largest holds 30% of the issues); 3 internal,
  9 private, of which one the caller cannot see (so visibility scoping filters rows).
- 8 labels per project; 0-3 per issue.
- Issues with titles of 4-9 words and descriptions of 15-220 words, statuses and
  resolutions in realistic proportions, assignees, due dates, three years of history.
  The word SELECTIVE_WORD appears in about 1 issue in 10,000, COMMON_WORD in about 1 in 4;
  a long tail of rare words (TAIL_WORDS, Zipf-distributed) stands for codes and names.
- About one comment per issue (20-60 words), and BUSY_COMMENTS on the issue BUSY_ISSUE.
- Relations: one for every five issues, half `blocks`, half `parent` (twenty sub-issues
  per parent).
- The caller's inbox: INBOX_THREADS notification threads (one per issue, every other one
  read); BUSY_ATTACHMENTS files on BUSY_ISSUE (their metadata: the list reads no bytes).
"""

import argparse
import random
import sys
import time
from itertools import accumulate

# Projects: key, share of the issues, visibility, the caller's role (None: not a member).
PROJECTS = [
    ("CORE", 0.30, "private", "maintainer"),
    ("WEB", 0.20, "internal", "developer"),
    ("API", 0.12, "private", "maintainer"),
    ("MOBILE", 0.10, "private", "developer"),
    ("INFRA", 0.08, "internal", None),
    ("DATA", 0.06, "private", "reporter"),
    ("DOCS", 0.05, "private", "viewer"),
    ("SEC", 0.03, "private", None),  # hidden from the caller
    ("BILLING", 0.02, "private", "developer"),
    ("SEARCH", 0.02, "internal", None),
    ("LABS", 0.01, "private", "owner"),
    ("OPS", 0.01, "private", "maintainer"),
]
LABELS = ["bug", "frontend", "backend", "ux", "performance", "security", "docs", "infra"]
COLORS = ["#D73A4A", "#1F883D", "#0969DA", "#8250DF", "#BF8700", "#CF222E", "#6B7280", "#0E8A16"]
ROLES = {"viewer": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}
USERS = 50
PASSWORD = "bench passphrase not secret"  # noqa: S105
CALLER = "bench"
SELECTIVE_WORD = "kerberos"
COMMON_WORD = "error"
BUSY_ISSUE = "CORE-1"
BUSY_COMMENTS = 200
BUSY_ATTACHMENTS = 60  # a page of 50 and a second one
INBOX_THREADS = 100_000
TRIGGER = "issues_issue_search_vector_update"  # issues/migrations/0002_search_vector.py

WORDS = """
login logout session token cache redis database query index migration schema table row
column request response header cookie redirect timeout retry queue worker job scheduler
cron email notification webhook payload upload download file image thumbnail avatar
profile settings preference theme dark mode layout sidebar navbar button modal dialog
dropdown tooltip form field validation input checkbox select search filter sort page
pagination scroll render component state store reducer hook effect router route link
api endpoint client server proxy gateway ingress load balancer cluster node pod container
image build deploy release rollback pipeline test flaky coverage lint format typecheck
dependency upgrade version package library framework runtime memory leak cpu spike latency
throughput slow fast crash hang freeze deadlock race condition lock transaction commit
rollback replica primary failover backup restore snapshot disk storage bucket permission
role access admin user account password reset signup invite team organization project
billing invoice payment subscription plan trial refund currency tax report export import
csv json xml pdf chart graph dashboard metric alert log trace span monitor incident outage
mobile android ios tablet browser safari firefox chrome edge windows linux macos keyboard
shortcut accessibility translation locale timezone date calendar reminder comment mention
attachment label milestone sprint backlog estimate priority assignee reviewer approval
""".split()  # noqa: SIM905 (a paragraph reads better than a 200-item list)
FILLER = ["the", "a", "an", "to", "of", "in", "on", "for", "with", "when", "after", "before"]
FILLER += ["while", "and", "or", "but", "not", "it", "this", "that", "is", "was", "should"]
TITLE_VERBS = ["Fix", "Add", "Improve", "Remove", "Investigate", "Refactor", "Support", "Update"]


def _sentence(rng: random.Random, words: int, extra: str | None = None) -> str:
    picked = [
        rng.choice(FILLER) if rng.random() < 0.35 else rng.choice(WORDS) for _ in range(words)
    ]
    if extra:
        picked.insert(rng.randrange(len(picked) + 1), extra)
    text = " ".join(picked)
    return text[0].upper() + text[1:] + "."


# Real issue text has a long tail of rare words (error codes, identifiers, names); without
# one, every word of the corpus is common, and PostgreSQL's statistics then estimate any
# word they have not seen at 0.5% of the issues instead of nearly none (see
# issues/migrations/0003). Rank r of TAIL_WORDS is drawn with weight 1/r (Zipf).
TAIL_WORDS = [f"e{n}" for n in range(1, 30_001)]
TAIL_WEIGHTS = list(accumulate(1 / rank for rank in range(1, len(TAIL_WORDS) + 1)))


def _paragraphs(rng: random.Random, words: int, extra: str | None) -> str:
    sentences, left = [], words
    while left > 0:
        n = min(left, rng.randint(6, 18))
        tail = rng.choices(TAIL_WORDS, cum_weights=TAIL_WEIGHTS, k=rng.randint(0, 2))
        sentences.append(
            _sentence(rng, n, extra if not sentences else None)
            + "".join(f" See {word}." for word in tail)
        )
        left -= n
    # A blank line every few sentences, as people write.
    return "\n\n".join(" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4))


def pools(rng: random.Random) -> dict[str, list[str]]:
    """Titles, descriptions and comment bodies to draw from."""
    titles = [
        f"{rng.choice(TITLE_VERBS)} {_sentence(rng, rng.randint(3, 8)).rstrip('.').lower()}"
        for _ in range(5000)
    ]
    descriptions = []
    for i in range(20_000):
        # 1 description in 10,000 names the selective word (the pool repeats every 20,000
        # issues); the common word sits in about a quarter of them.
        extra = SELECTIVE_WORD if i % 10_000 == 7 else COMMON_WORD if i % 4 == 1 else None
        descriptions.append(_paragraphs(rng, rng.randint(15, 220), extra))
    comments = [_paragraphs(rng, rng.randint(20, 60), None) for _ in range(5000)]
    return {"title": titles, "description": descriptions, "comment": comments}


def _copy_pool(cursor, name: str, texts: list[str], weight: str) -> None:
    cursor.execute(f"CREATE TEMP TABLE pool_{name} (i int PRIMARY KEY, body text, v tsvector)")
    with cursor.copy(f"COPY pool_{name} (i, body) FROM STDIN") as copy:
        for i, text in enumerate(texts):
            copy.write_row((i, text))
    cursor.execute(
        f"UPDATE pool_{name} SET v = setweight(to_tsvector('pg_catalog.english', body), %s)",  # noqa: S608
        [weight],
    )
    cursor.execute(f"ANALYZE pool_{name}")


def seed(issues: int, comments_per_issue: float = 1.0, log=print) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    rng = random.Random(42)  # noqa: S311 (test data)
    started = time.monotonic()

    def step(message: str) -> None:
        log(f"  seed {time.monotonic() - started:6.1f}s  {message}")

    password = make_password(PASSWORD)
    with transaction.atomic(), connection.cursor() as cursor:
        pg = cursor.cursor  # psycopg's own cursor, for COPY
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Foreign keys checked per statement, so the trigger can be switched off and on.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

        names = [CALLER] + [f"user{n:02d}" for n in range(1, USERS)]
        for name in names:
            cursor.execute(
                "INSERT INTO accounts_user (password, is_superuser, first_name, last_name,"
                " is_staff, is_active, date_joined, username, email, display_name, role, type)"
                " VALUES (%s, false, '', '', false, true, now(), %s, %s, %s, 'user', 'user')",
                [password, name, f"{name}@example.com", name.title()],
            )
        cursor.execute("SELECT username, id FROM accounts_user")
        user_ids = dict(cursor.fetchall())
        ids = [user_ids[n] for n in names]
        caller = user_ids[CALLER]

        sizes = [max(1, int(issues * share)) for _, share, _, _ in PROJECTS]
        sizes[0] += issues - sum(sizes)
        projects = []  # (id, key, size, first issue number offset)
        for (key, _, visibility, caller_role), size in zip(PROJECTS, sizes, strict=True):
            owner = ids[1 + len(projects)]
            cursor.execute(
                "INSERT INTO projects_project (key, name, description, visibility, created_at,"
                " updated_at, last_issue_number, created_by_id)"
                " VALUES (%s, %s, %s, %s, now(), now(), %s, %s) RETURNING id",
                [key, f"{key.title()} project", _sentence(rng, 12), visibility, size, owner],
            )
            project_id = cursor.fetchone()[0]
            projects.append((project_id, key, size))
            members = {owner: 50}
            if caller_role:
                members[caller] = ROLES[caller_role]
            for user in rng.sample(ids[1:], 12):
                members.setdefault(user, rng.choice([10, 20, 30, 30, 30, 40]))
            for user, role in members.items():
                cursor.execute(
                    "INSERT INTO projects_membership (role, created_at, user_id, project_id)"
                    " VALUES (%s, now(), %s, %s)",
                    [role, user, project_id],
                )
            for name, color in zip(LABELS, COLORS, strict=True):
                cursor.execute(
                    "INSERT INTO issues_label (name, color, description, created_at, project_id)"
                    " VALUES (%s, %s, '', now(), %s)",
                    [name, color, project_id],
                )
        step(f"{len(names)} users, {len(projects)} projects, memberships, labels")

        texts = pools(rng)
        _copy_pool(pg, "title", texts["title"], "A")
        _copy_pool(pg, "description", texts["description"], "B")
        _copy_pool(pg, "comment", texts["comment"], "D")
        step("text pools and their vectors")

        # One row per project: where its issues start in the global series.
        cursor.execute("CREATE TEMP TABLE seed_project (id bigint, size int, start int)")
        start = 0
        for project_id, _, size in projects:
            cursor.execute(
                "INSERT INTO seed_project VALUES (%s, %s, %s)", [project_id, size, start]
            )
            start += size
        cursor.execute("CREATE TEMP TABLE seed_user (n int, id bigint)")
        for n, user in enumerate(ids):
            cursor.execute("INSERT INTO seed_user VALUES (%s, %s)", [n, user])

        cursor.execute(
            "ALTER TABLE issues_issue DISABLE TRIGGER issues_issue_search_vector_update"
        )
        # g: the issue's place in the series (0 oldest); h: a hash of it for the choices.
        cursor.execute(
            """
            INSERT INTO issues_issue (number, title, description, type, priority, status,
                resolution, due_date, created_at, updated_at, resolved_at, closed_at,
                assignee_id, project_id, reporter_id, search_vector)
            SELECT s.number, t.body, d.body,
                (ARRAY['bug', 'feature', 'task', 'bug', 'task'])[1 + s.h %% 5],
                (ARRAY[1, 2, 3, 3, 3, 3, 4, 4, 5, 2])[1 + (s.h / 7) %% 10],
                s.status,
                CASE WHEN s.status IN ('resolved', 'closed')
                     THEN (ARRAY['fixed', 'fixed', 'fixed', 'duplicate', 'wont_fix',
                                 'cannot_reproduce', 'obsolete'])[1 + (s.h / 11) %% 7]
                     ELSE '' END,
                CASE WHEN s.h %% 10 < 3 THEN (s.created + interval '30 days')::date END,
                s.created, s.updated,
                CASE WHEN s.status = 'resolved' THEN s.updated END,
                CASE WHEN s.status = 'closed' THEN s.updated END,
                CASE WHEN s.h %% 5 = 0 THEN NULL ELSE a.id END,
                s.project_id, r.id,
                t.v || d.v
            FROM (
                SELECT g, p.id AS project_id, g - p.start + 1 AS number,
                       (g::bigint * 2654435761) %% 4294967291 AS h,
                       now() - interval '3 years' * (1 - g::float / %(n)s) AS created,
                       least(now(), now() - interval '3 years' * (1 - g::float / %(n)s)
                             + interval '1 minute' * ((g::bigint * 40503) %% 130000)) AS updated,
                       (ARRAY['open', 'open', 'open', 'in_progress', 'in_review', 'resolved',
                              'resolved', 'closed', 'closed', 'closed']
                       )[1 + ((g::bigint * 2654435761) %% 4294967291 / 13) %% 10] AS status
                FROM generate_series(0, %(n)s - 1) AS g
                JOIN seed_project p ON g >= p.start AND g < p.start + p.size
            ) s
            JOIN pool_title t ON t.i = (s.h / 3) %% %(titles)s
            JOIN pool_description d ON d.i = s.g %% %(descriptions)s
            JOIN seed_user a ON a.n = (s.h / 17) %% %(users)s
            JOIN seed_user r ON r.n = (s.h / 19) %% %(users)s
            ORDER BY s.g
            """,
            {
                "n": issues,
                "titles": len(texts["title"]),
                "descriptions": len(texts["description"]),
                "users": USERS,
            },
        )
        cursor.execute("ALTER TABLE issues_issue ENABLE TRIGGER " + TRIGGER)
        step(f"{issues} issues")

        # 0-3 labels an issue (1.2 on average), from its own project.
        cursor.execute("""
            INSERT INTO issues_issue_labels (issue_id, label_id)
            SELECT i.id, l.id FROM issues_issue i
            JOIN issues_label l ON l.project_id = i.project_id
            WHERE (i.id * 31 + l.id * 17) % 20 < 3
            """)
        step("issue labels")

        cursor.execute("""
            INSERT INTO issues_issueevent (kind, from_status, to_status, resolution, field,
                created_at, actor_id, issue_id)
            SELECT 'created', '', 'open', '', '', created_at, reporter_id, id FROM issues_issue
            """)
        step("issue history (created events)")

        # Relations, one for every five issues: each issue numbered 10k blocks the one
        # three after it (half of them open), and every issue numbered 10k + 5 is a
        # sub-issue of the first issue of its block of 200 (twenty children each). Chains
        # never close: a blocker is never blocked here, a parent never a child.
        cursor.execute("""
            INSERT INTO issues_issuerelation (type, created_at, source_id, target_id)
            SELECT 'blocks', now(), b.id, i.id FROM issues_issue i
            JOIN issues_issue b ON b.id = i.id - 3
            WHERE i.id % 10 = 0
            UNION ALL
            SELECT 'parent', now(), i.id, p.id FROM issues_issue i
            JOIN issues_issue p ON p.id = i.id / 200 * 200 + 1
            WHERE i.id % 10 = 5
            """)
        step("issue relations")

        busy_key, busy_number = BUSY_ISSUE.split("-")
        cursor.execute(
            "SELECT i.id FROM issues_issue i JOIN projects_project p ON p.id = i.project_id"
            " WHERE p.key = %s AND i.number = %s",
            [busy_key, int(busy_number)],
        )
        busy = cursor.fetchone()[0]
        every = max(1, round(1 / comments_per_issue)) if comments_per_issue else 0
        cursor.execute(
            """
            INSERT INTO comments_comment (body, created_at, updated_at, edited, author_id,
                issue_id)
            SELECT c.body, i.created_at + interval '1 hour' * k,
                   i.created_at + interval '1 hour' * k, false, u.id, i.id
            FROM (
                SELECT id, created_at, 1 AS k FROM issues_issue WHERE %(every)s > 0
                    AND id %% greatest(%(every)s, 1) = 0 AND id <> %(busy)s
                UNION ALL
                SELECT id, created_at, k FROM issues_issue, generate_series(1, %(busy_n)s) k
                WHERE id = %(busy)s
            ) i
            JOIN pool_comment c ON c.i = (i.id * 7 + i.k) %% %(comments)s
            JOIN seed_user u ON u.n = (i.id + i.k) %% %(users)s
            """,
            {
                "every": every,
                "busy": busy,
                "busy_n": BUSY_COMMENTS,
                "comments": len(texts["comment"]),
                "users": USERS,
            },
        )
        step("comments")

        # The caller's inbox: a thread on each of the newest INBOX_THREADS issues of the
        # projects they are a member of (every other one read), from another member.
        cursor.execute(
            """
            INSERT INTO notifications_thread (user_id, issue_id, project_id, reason, actor_id,
                event_id, updated_at, read_at, done_at, created_at)
            SELECT %(caller)s, i.id, i.project_id, 'commented', i.reporter_id, NULL,
                   i.updated_at, CASE WHEN i.id %% 2 = 0 THEN i.updated_at END, NULL,
                   i.created_at
            FROM issues_issue i
            JOIN projects_membership m ON m.project_id = i.project_id AND m.user_id = %(caller)s
            ORDER BY i.id DESC LIMIT %(threads)s
            """,
            {"caller": caller, "threads": INBOX_THREADS},
        )
        cursor.execute(
            "INSERT INTO notifications_inbox (user_id, version) VALUES (%s, md5(random()::text))",
            [caller],
        )
        step("notification threads")

        # The files of the busy issue: metadata only (the list reads no bytes).
        cursor.execute(
            """
            INSERT INTO attachments_attachment (issue_id, comment_id, uploader_id, key,
                filename, size, content_type, sha256, status, reason, created_at)
            SELECT %(busy)s, NULL, u.id, 'bench/' || k, 'screenshot-' || k || '.png',
                   10000 + k, 'image/png', md5(k::text) || md5(k::text), 'available', '',
                   now() - interval '1 minute' * (%(files)s - k)
            FROM generate_series(1, %(files)s) k JOIN seed_user u ON u.n = k %% %(users)s
            """,
            {"busy": busy, "files": BUSY_ATTACHMENTS, "users": USERS},
        )
        cursor.execute(
            "UPDATE issues_issue SET attachment_count = %s WHERE id = %s",
            [BUSY_ATTACHMENTS, busy],
        )
        step("attachments")

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        step("VACUUM ANALYZE")
        # Marks the database as completely seeded, and how long it took (--reuse-db).
        cursor.execute("CREATE TABLE bench_seed (issues int, seconds float)")
        cursor.execute(
            "INSERT INTO bench_seed VALUES (%s, %s)", [issues, time.monotonic() - started]
        )
    return {
        "issues": issues,
        "users": len(names),
        "projects": {key: size for _, key, size in projects},
        "seconds": round(time.monotonic() - started, 1),
    }


def main(argv=None) -> int:
    import django

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=100_000)
    args = parser.parse_args(argv)
    django.setup()
    print(seed(args.issues))
    return 0


if __name__ == "__main__":
    sys.exit(main())
