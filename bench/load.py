"""How the benchmark measures a scenario: wrk's load (harness/wrk.py) against gunicorn,
a warm-up first, requests/s and latency from wrk, SQL statements per request from the
server's own /metrics, and how the workers shared wrk's connections."""

import os
import re
import secrets
import sys
import threading
import time
from pathlib import Path

from harness import wrk
from harness.client import Answer
from harness.server import Gunicorn

HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating ingress adds
METRICS_TOKEN = secrets.token_urlsafe(32)  # /metrics answers only this bearer token
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


class Server(Gunicorn):
    """gunicorn as the image runs it, with the benchmark's settings (bench/settings.py)."""

    def call(self, method: str, path: str, body=None, headers=None) -> Answer:
        return self.request(
            method, path, body=body, headers={**HTTPS, **(headers or {})}, timeout=60
        )

    def start(self) -> "Server":
        """Wait until it answers; exit with its log if it does not."""
        if not self.wait_until_up(60):
            sys.exit(f"gunicorn did not start; see its log:\n{self.tail(100)[-3000:]}")
        return self

    def counters(self) -> tuple[float, float]:
        """(SQL statements executed, requests served) so far, over all workers, from the
        server's own /metrics (django-prometheus), this scrape not counted."""
        body = self.call("GET", "/metrics", headers=METRICS_AUTH).text()
        statements = requests = 0.0
        for line in body.splitlines():
            if re.match(r"django_db_execute(_many)?_total\{", line):
                statements += float(line.rsplit(" ", 1)[1])
            elif line.startswith("django_http_requests_before_middlewares_total "):
                requests = float(line.rsplit(" ", 1)[1]) - 1
        return statements, requests

    def connections_per_worker(self) -> list[int]:
        """How many client connections each worker holds open now (sorted, most first)."""
        established = set()  # socket inodes of connections to our port
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if local_port == self.port and fields[3] == "01":  # ESTABLISHED
                        established.add(fields[9])
        counts = []
        for pid in self.workers():
            inodes = set()
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = os.readlink(fd)
                except OSError:
                    continue  # closed meanwhile
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
            counts.append(len(inodes & established))
        return sorted(counts, reverse=True)

    def workers_rss_mb(self) -> list[float]:
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            kb = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
            sizes.append(round(kb / 1024, 1))
        return sizes


def spread_during(server: Server, seconds: float, run):
    """`run()`, and `seconds` into it, how the server's workers share its connections."""
    seen = []
    timer = threading.Timer(seconds, lambda: seen.append(server.connections_per_worker()))
    timer.start()
    try:
        result = run()
    finally:
        timer.cancel()
        timer.join()
    return result, seen[0] if seen else []


def lopsided(spread: list[int], connections: int) -> bool:
    """More lopsided than 6:2 for 8 connections (three quarters on one worker); one
    connection is always on one worker."""
    return connections > 1 and len(spread) > 1 and spread[0] > connections * 3 / 4


def measure(server, name, script, args, tmp, connections=None, threads=None, reset=None) -> dict:
    """wrk with `script` for --duration seconds after --warmup, again (up to three rounds)
    while one worker holds most connections; its figures, printed as a line."""
    connections = connections or args.connections
    threads = min(threads or args.threads, connections)
    url = server.url("/")
    if reset:
        reset()
    wrk.run(url, script, tmp, args.warmup, connections, threads)
    time.sleep(1)  # the warm-up's last requests finish before the counters are read
    for rounds in range(1, 4):
        if reset:
            reset()
        statements, served = server.counters()
        report, spread = spread_during(
            server,
            min(1.0, args.duration / 2),
            lambda: wrk.run(url, script, tmp, args.duration, connections, threads),
        )
        time.sleep(0.5)  # requests cut off by wrk's deadline still finish on the server
        statements_after, served_after = server.counters()
        if not lopsided(spread, connections) or rounds == 3:
            break
        print(f"  {name}: connections per worker {spread}, lopsided: again", flush=True)
    # Per request the server served: wrk does not count the requests its deadline cut off.
    sql_per_request = (statements_after - statements) / max(served_after - served - 1, 1)
    requests = max(report["requests"], 1)
    result = {
        "scenario": name,
        "requests": report["requests"],
        "rps": round(report["requests"] / (report["duration_us"] / 1e6), 1),
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p90_ms": round(report["p90_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
        "max_ms": round(report["max_us"] / 1000, 2),
        "sql_per_request": round(sql_per_request, 2),
        "errors": report["non2xx"] + report["socket_errors"],
        "failed_answers": report["failed"],
        "bytes_per_response": round(report["bytes"] / requests),
        "connections": connections,
        "spread": spread,
        "rounds": rounds,
    }
    print(
        f"  {name:<34} {result['rps']:>8.1f} req/s  p50 {result['p50_ms']:>7.2f} ms"
        f"  p99 {result['p99_ms']:>7.2f} ms  {result['sql_per_request']:>5.2f} SQL/req"
        + (f"  per worker {':'.join(map(str, spread))}" if len(spread) > 1 else "")
        + (f"  {result['errors']} ERRORS" if result["errors"] else ""),
        flush=True,
    )
    for answer in report["failed"]:
        print(f"    {answer}", flush=True)
    return result


def measure_loaded_and_alone(server, name, script, args, tmp, reset=None) -> dict:
    """measure() with wrk's connections, and a request's own latency: one connection,
    nothing queued in front of it (rps_1c, p50_ms_1c, p99_ms_1c)."""
    result = measure(server, name, script, args, tmp, reset=reset)
    alone = measure(server, "  ... 1 connection", script, args, tmp, 1, 1, reset)
    result.update({f"{key}_1c": alone[key] for key in ("rps", "p50_ms", "p99_ms")})
    return result
