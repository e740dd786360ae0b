"""The benchmark's second floor: the issue list's first page from a bare WSGI app.

No Django, no DRF: psycopg and orjson. It verifies the caller's RS256 access token as the
API does (the key, algorithm, issuer, audience and required claims of accounts/tokens.py)
and answers the same 50 rows, with the same joins and labels, as the data floor
(bench/views.py). What is left between the two floors is Django's own request cycle.
Served by gunicorn with gunicorn.conf.py (bench/run.py), never in production:

    gunicorn --config gunicorn.conf.py bench.bare:application
"""

import os
import threading
from collections import defaultdict
from pathlib import Path
from urllib.parse import parse_qs

import jwt
import orjson
import psycopg
from cryptography.hazmat.primitives import serialization

REQUIRED_CLAIMS = ["exp", "iat", "jti", "sub", "iss", "aud", "token_type"]  # accounts/tokens.py
PAGE = """
SELECT i.id, i.number, i.title, i.description, i.type, i.priority, i.status, i.resolution,
       i.due_date, i.created_at, i.updated_at, i.resolved_at, i.closed_at,
       p.id, p.key, p.name, r.id, r.username, r.display_name, r.type,
       a.id, a.username, a.display_name, a.type
FROM issues_issue i
JOIN projects_project p ON p.id = i.project_id
LEFT JOIN accounts_user r ON r.id = i.reporter_id
LEFT JOIN accounts_user a ON a.id = i.assignee_id
WHERE i.project_id = ANY(%s)
ORDER BY i.updated_at DESC, i.id DESC
LIMIT 50
"""
LABELS = """
SELECT il.issue_id, l.id, l.name, l.color
FROM issues_issue_labels il JOIN issues_label l ON l.id = il.label_id
WHERE il.issue_id = ANY(%s)
ORDER BY l.name, l.id
"""
FIELDS = [
    "id",
    "number",
    "title",
    "description",
    "type",
    "priority",
    "status",
    "resolution",
    "due_date",
    "created_at",
    "updated_at",
    "resolved_at",
    "closed_at",
]

PRIORITIES = {1: "lowest", 2: "low", 3: "medium", 4: "high", 5: "highest"}  # Issue.Priority

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
        pooled = os.environ.get("DATABASE_POOLER") == "pgbouncer"
        conn = _local.conn = psycopg.connect(
            os.environ["DATABASE_URL"], autocommit=True, prepare_threshold=None if pooled else 5
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


def _person(row, at: int):
    if row[at] is None:
        return None
    return {
        "id": row[at],
        "username": row[at + 1],
        "display_name": row[at + 2],
        "type": row[at + 3],
    }


def _answer(start_response, status: str, body: bytes):
    # With its length given, gunicorn keeps the connection alive, as it does for Django.
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(status, headers)
    return [body]


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/health":  # bench/run.py waits for it
        return _answer(start_response, "200 OK", b'{"status": "ok"}')
    if not _authenticated(environ):
        return _answer(start_response, "401 Unauthorized", b'{"detail": "not authenticated"}')
    query = parse_qs(environ.get("QUERY_STRING", ""))
    projects = [int(pk) for pk in query.get("projects", [""])[0].split(",") if pk]
    with _connection().cursor() as cursor:
        rows = cursor.execute(PAGE, [projects]).fetchall()
        labels = defaultdict(list)
        for issue_id, pk, name, color in cursor.execute(LABELS, [[r[0] for r in rows]]):
            labels[issue_id].append({"id": pk, "name": name, "color": color})
    # Each issue's own address, as the API gives it behind the TLS-terminating ingress.
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ["wsgi.url_scheme"]
    base = f"{scheme}://{environ.get('HTTP_HOST', '')}/api/v1/issues/"
    results = []
    for row in rows:
        item = dict(zip(FIELDS, row[:13], strict=True))
        item["key"] = f"{row[14]}-{row[1]}"
        item["url"] = base + item["key"]
        item["priority"] = PRIORITIES[item["priority"]]  # the API names the rank
        item["resolution"] = item["resolution"] or None  # and gives no value as null
        item["project"] = {"id": row[13], "key": row[14], "name": row[15]}
        item["reporter"] = _person(row, 16)
        item["assignee"] = _person(row, 20)
        item["labels"] = labels[row[0]]
        results.append(item)
    return _answer(
        start_response, "200 OK", orjson.dumps({"results": results}, option=orjson.OPT_UTC_Z)
    )
