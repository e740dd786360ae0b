"""The benchmark's report: the machine, the versions, and the Markdown table written
beside the JSON (bench/results/issues-N.md)."""

import os
import platform
import subprocess

from harness import ROOT

from .targets import floor_ratios


def machine() -> dict:
    model = ""
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "os": platform.platform(),
    }


def versions(postgres_url: str, redis_url: str) -> dict:
    import django
    import gunicorn
    import psycopg
    import redis
    import rest_framework

    with psycopg.connect(postgres_url) as conn:
        postgres = conn.execute("SHOW server_version").fetchone()[0]
    redis_version = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)  # noqa: S607
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "djangorestframework": rest_framework.VERSION,
        "gunicorn": gunicorn.__version__,
        "psycopg": psycopg.__version__,
        "postgresql": postgres,
        "redis": redis_version,
        "wrk": (wrk_version.stdout + wrk_version.stderr).split("\n")[0].strip(),
        "commit": commit,
    }


def markdown(report: dict) -> str:
    m, v, d = report["machine"], report["versions"], report["dataset"]
    lines = [
        f"# Benchmark: {d['issues']:,} issues",
        "",
        f"{report['date']}; {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB; "
        f"load average before the run {report['load_before']}, after {report['load_after']}.",
        f"PostgreSQL {v['postgresql']}, Redis {v['redis']}, Python {v['python']}, Django "
        f"{v['django']}, DRF {v['djangorestframework']}, gunicorn {v['gunicorn']} "
        f"({report['server']}), {v['wrk']}; commit {v['commit']}.",
        f"Load: wrk, {report['load']}. The caller sees {d['visible_issues']:,} of the issues "
        f"(seeded in {d['seed_seconds']:.0f} s).",
        "",
        "SQL/req: statements per request, counted by the server (a connection idle for a "
        "second is health-checked first, a `SELECT 1`; under load none is).",
        "",
        f"Throughput and latency with {report['load'].split(',')[0]} (the server saturated), "
        "then the latency of one request at a time (1 connection).",
        "",
        "| scenario | req/s | p50 ms | p99 ms | 1 conn: p50 ms | p99 ms | SQL/req "
        "| conns per worker |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["scenarios"]:
        lines.append(
            f"| {r['scenario']} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
            f"| {r['p50_ms_1c']:.1f} | {r['p99_ms_1c']:.1f} | {r['sql_per_request']:.1f} "
            f"| {':'.join(map(str, r.get('spread', [])))}"
            + (f" ({r['rounds']} rounds)" if r.get("rounds", 1) > 1 else "")
            + " |"
        )
    a = report["auth_overhead"]
    lines += ["", "Against the references serving the same rows:", ""]
    lines += [f"- {line}" for line in floor_ratios(report["scenarios"])]
    lines += [
        "",
        f"Authentication overhead ({a['path']}, 1 connection): median {a['with_token_p50_ms']} ms "
        f"with a JWT, {a['with_pat_p50_ms']} ms with a personal access token, "
        f"{a['without_token_p50_ms']} ms without: {a['overhead_ms']} ms for the JWT, "
        f"{a['pat_overhead_ms']} ms for the token.",
        f"Worker memory after the run: {', '.join(f'{mb} MB' for mb in report['worker_rss_mb'])}.",
    ]
    scaling = report.get("scaling")
    if scaling:
        lines += [
            "",
            "Scaling, the same reads from 2 and from 4 gunicorn processes (4 threads each) on "
            "the same 2 cores and PostgreSQL, alternated A B B A:",
            "",
        ]
        lines += [
            f"- {name}: {s['rps_2']:,.0f} req/s with 2 processes, {s['rps_4']:,.0f} with 4 "
            f"({s['ratio']:.2f}x)"
            for name, s in scaling.items()
        ]
    w = report.get("webhook_deliveries")
    if w:
        lines += [
            "",
            f"Webhook deliveries: {w['deliveries_per_s']:,.0f}/s from one Celery worker "
            f"process (concurrency 1) to a local receiver, over {w['seconds']} s of the "
            f"{w['queued']:,} deliveries of the webhooks scenario's events "
            f"({'some still queued at the end' if w['saturated'] else 'the backlog ran out'}). "
            "The workers did not run during the create-issue scenarios: on this machine they "
            "would take the server's cores, as they do not on a cluster's other nodes.",
        ]
    lines += [
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for c in report["targets"]:
        lines.append(f"| {c['target']} | {c['measured']} | {'yes' if c['met'] else '**no**'} |")
    return "\n".join(lines) + "\n"
