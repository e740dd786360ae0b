"""The benchmark's second floor: the issue list and an issue from a bare WSGI app.

No Django request cycle, no DRF: psycopg, orjson, and the issue's one representation
(issues/representation.py, which needs no Django settings). It verifies the caller's
RS256 access token as the API does (the key, algorithm, issuer, audience and required
claims of accounts/tokens.py) and answers the same rows, with the same joins and labels,
as the data floor (bench/views.py): `/?projects=1,2` for the list's first 50 issues,
narrowed by `status`, `assignee` (an id), `labels` (ids) and `search`, sorted by
`ordering=-priority`, counted with `count=1`, all with the API's SQL (the same label
check, the same capped counts);
`/issues/WEB-42?projects=1,2` for one issue. What is left between the two floors is
Django's own request cycle. Served by gunicorn with gunicorn.conf.py (bench/run.py),
never in production:

    gunicorn --config gunicorn.conf.py bench.bare:application
"""

import os
import threading
from collections import defaultdict
from functools import partial
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import orjson
import psycopg
from cryptography.hazmat.primitives import serialization

from issues.representation import ISSUE_ROW_FIELDS, issue_data, summarise_relations

REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "iss", "aud", "token_type"]  # accounts/tokens.py
# The tables the representation's related fields come from (`project__key`: p.key).
ALIASES = {"project": "p", "reporter": "r", "assignee": "a"}


def _column(field: str) -> str:
    related, _, name = field.rpartition("__")
    return f"{ALIASES[related]}.{name}" if related else f"i.{field}"


# Exactly what the representation reads (ISSUE_ROW_FIELDS), named as it names them; only
# this module's constants are formatted in.
SELECT = (
    f"SELECT {', '.join(map(_column, ISSUE_ROW_FIELDS))}"  # noqa: S608
    """
FROM issues_issue i
JOIN projects_project p ON p.id = i.project_id
LEFT JOIN accounts_user r ON r.id = i.reporter_id
LEFT JOIN accounts_user a ON a.id = i.assignee_id
"""
)
# The API's label check and count caps (issues/filters.py, api/pagination.py).
TAGGED = (
    "(SELECT il.issue_id FROM issues_issue_labels il"
    " WHERE il.issue_id = i.id AND il.label_id = ANY(%s::bigint[]) LIMIT 1) IS NOT NULL"
)
COUNT_CAP, SEARCH_COUNT_CAP = 10_000, 1_000
NEWEST, BY_PRIORITY = "i.updated_at DESC, i.id DESC", "i.priority DESC, i.id DESC"
LABELS = """
SELECT il.issue_id, l.id, l.name, l.color
FROM issues_issue_labels il JOIN issues_label l ON l.id = il.label_id
WHERE il.issue_id = ANY(%s)
ORDER BY l.name, l.id
"""
# Each issue's parent, children and blockers, as issues.relations.selectors reads them for
# a reader who sees the projects listed (RELATION_SUMMARY_COLUMNS, in order).
RELATIONS = """
SELECT r.type, r.source_id, r.target_id, s.status, tp.key, t.number, t.title
FROM issues_issuerelation r
JOIN issues_issue s ON s.id = r.source_id
JOIN issues_issue t ON t.id = r.target_id
JOIN projects_project tp ON tp.id = t.project_id
WHERE (r.target_id = ANY(%(ids)s) AND r.type IN ('blocks', 'parent')
       AND s.project_id = ANY(%(projects)s::bigint[]))
   OR (r.source_id = ANY(%(ids)s) AND r.type = 'parent'
       AND t.project_id = ANY(%(projects)s::bigint[]))
"""

_private = serialization.load_pem_private_key(
    Path(os.environ["PRIVATE_KEY_PATH"]).read_bytes(), password=None
)
PUBLIC_KEY = _private.public_key()
ISSUER = os.environ.get("JWT_ISSUER", "issue-tracker")
AUDIENCE = os.environ.get("JWT_AUDIENCE", "issue-tracker-api")
_local = threading.local()  # one connection per gunicorn thread, kept open


def _connection() -> psycopg.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        # Behind PgBouncer in transaction pooling mode, a statement prepared on one server
        # connection is unknown on the next: prepare none, as the service does there.
        # Direct, statements are prepared, but planned for their values each time, as the
        # service's are: a generic plan for "these projects, this assignee, these labels"
        # cannot tell a selective index from the rest (at a million issues, 10 times
        # slower than the API's plan).
        pooled = os.environ.get("DATABASE_POOLER") == "pgbouncer"
        conn = _local.conn = psycopg.connect(
            os.environ["DATABASE_URL"],
            autocommit=True,
            prepare_threshold=None if pooled else 5,
            options="" if pooled else "-c plan_cache_mode=force_custom_plan",
        )
    return conn


def _authenticated(environ) -> bool:
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme != "Bearer":
        return False
    try:
        claims = jwt.decode(
            token,
            PUBLIC_KEY,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError:
        return False
    return claims["token_type"] == "access"  # noqa: S105 (a claim, not a password)


def _answer(start_response, status: str, body: bytes):
    # With its length given, gunicorn keeps the connection alive, as it does for Django.
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


def _ids(query: dict, name: str) -> list[int]:
    return [int(pk) for pk in query.get(name, [""])[0].split(",") if pk]


def _where(query: dict) -> tuple[str, list]:
    """The list's WHERE clause and its parameters, as the data floor's floor_issues."""
    # Ids cast to the columns' type: psycopg sends small integers as smallint, and
    # PostgreSQL then plans the comparison with cruder estimates than Django's literals get.
    clauses, params = ["i.project_id = ANY(%s::bigint[])"], [_ids(query, "projects")]
    if "status" in query:
        clauses.append("i.status = %s")
        params.append(query["status"][0])
    if "assignee" in query:
        clauses.append("i.assignee_id = %s::bigint")
        params.append(int(query["assignee"][0]))
    if "labels" in query:
        clauses.append(TAGGED)
        params.append(_ids(query, "labels"))
    if "search" in query:
        clauses.append("i.search_vector @@ websearch_to_tsquery('english', %s)")
        params.append(query["search"][0])
    return " AND ".join(clauses), params


def _items(cursor, rows: list, environ, projects: list[int]) -> list[dict]:
    rows = [dict(zip(ISSUE_ROW_FIELDS, row, strict=True)) for row in rows]
    ids = [r["id"] for r in rows]
    labels = defaultdict(list)
    for issue_id, pk, name, color in cursor.execute(LABELS, [ids]):
        labels[issue_id].append({"id": pk, "name": name, "color": color})
    relations = summarise_relations(
        ids, cursor.execute(RELATIONS, {"ids": ids, "projects": projects}).fetchall()
    )
    # Each issue's own address, as the API gives it behind the TLS-terminating ingress.
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ["wsgi.url_scheme"]
    url = partial(f"{scheme}://{environ.get('HTTP_HOST', '')}/api/v1/issues/{{}}".format)
    return [issue_data(row, labels[row["id"]], url, relations[row["id"]]) for row in rows]


def _list(cursor, query: dict, environ) -> dict:
    where, params = _where(query)
    body = {}
    if "count" in query:
        if "search" in query:
            counted = f"ORDER BY {NEWEST} LIMIT {SEARCH_COUNT_CAP + 1}"
        else:
            counted = f"LIMIT {COUNT_CAP + 1}"
        # Only this module's constants are formatted in; values go as parameters.
        sql = f"SELECT count(*) FROM (SELECT i.id FROM issues_issue i WHERE {where} {counted}) c"  # noqa: S608
        body["count"] = cursor.execute(sql, params).fetchone()[0]
    order = BY_PRIORITY if query.get("ordering") == ["-priority"] else NEWEST
    rows = cursor.execute(f"{SELECT} WHERE {where} ORDER BY {order} LIMIT 50", params).fetchall()
    body["results"] = _items(cursor, rows, environ, _ids(query, "projects"))
    return body


def _issue(cursor, key: str, query: dict, environ) -> dict | None:
    project, _, number = key.rpartition("-")
    rows = cursor.execute(
        f"{SELECT} WHERE i.project_id = ANY(%s::bigint[]) AND p.key = %s AND i.number = %s",
        [_ids(query, "projects"), project, int(number)],
    ).fetchall()
    return _items(cursor, rows, environ, _ids(query, "projects"))[0] if rows else None


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/health":  # bench/run.py waits for it
        return _answer(start_response, "200 OK", b'{"status": "ok"}')
    if not _authenticated(environ):
        return _answer(start_response, "401 Unauthorized", b'{"detail": "not authenticated"}')
    query = parse_qs(environ.get("QUERY_STRING", ""))
    with _connection().cursor() as cursor:
        if path.startswith("/issues/"):
            body = _issue(cursor, path.removeprefix("/issues/"), query, environ)
        else:
            body = _list(cursor, query, environ)
    if body is None:
        return _answer(start_response, "404 Not Found", b'{"detail": "not found"}')
    return _answer(start_response, "200 OK", orjson.dumps(body, option=orjson.OPT_UTC_Z))
