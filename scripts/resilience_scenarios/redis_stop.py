"""redis-stop: Redis stops mid-load. The API keeps answering (no 5xx), a logged-out token
stays refused (the blocklist falls back to the database), throttles let requests through
(fail open, documented), Idempotency-Key creates proceed, /ready is 503 naming the cache;
after Redis returns, /ready is 200 again."""

import time

from harness.report import check, note

from .service import PASSWORD, RECOVERY_PROMISE, Service
from .workload import Run, describe


def scenario_redis_stop(stack: Service, args) -> Run:
    # A logged-out user: their access token is on the blocklist, cached in Redis.
    revoked = stack.sign_up("revoked")
    keep = stack.call(
        "POST", "/api/v1/auth/login", body={"username": revoked.username, "password": PASSWORD}
    )
    answer = stack.call(
        "POST",
        "/api/v1/auth/logout",
        revoked.token,
        {"refresh_token": keep.body["refresh_token"]},
    )
    check("redis-stop: logout before the outage", answer.status == 204, str(answer.status))
    still_valid = keep.body["access_token"]  # another session of the same user, not revoked

    # The throttle works while Redis does: the 4th refresh from one address in a minute is 429.
    def refreshes(count: int, address: str) -> list[int]:
        """Refreshes with a bad token from one client address (the throttle's key)."""
        headers = {"X-Forwarded-For": address}
        body = {"refresh_token": "x"}
        return [
            stack.call("POST", "/api/v1/auth/refresh", body=body, headers=headers).status
            for _ in range(count)
        ]

    limited = refreshes(4, "198.51.100.1")
    check("redis-stop: with Redis the refresh throttle limits", limited[-1] == 429, str(limited))
    probes = {}

    def fault(run: Run, t0: float) -> None:
        time.sleep(args.duration * 0.3)
        down = time.monotonic()
        stack.redis.stop()
        note(f"Redis stopped at {down - t0:.1f} s")
        time.sleep(0.5)
        probes["ready"] = stack.call("GET", "/ready")
        probes["revoked"] = stack.call("GET", "/api/v1/me", revoked.token)
        probes["valid"] = stack.call("GET", "/api/v1/me", still_valid)
        probes["refreshes"] = refreshes(6, "198.51.100.2")
        body = {"title": "Made while Redis was down"}
        probes["idempotent"] = answer = stack.call(
            "POST",
            f"/api/v1/projects/{run.project}/issues",
            stack.actors[0].token,
            body,
            {"Idempotency-Key": "redis-down"},
        )
        if answer.status == 201:
            run.probe_created[body["title"]] = answer.body["key"]
        time.sleep(max(0.0, down + max(args.outage, args.duration * 0.4) - time.monotonic()))
        stack.redis.start()
        back = time.monotonic()
        note(f"Redis back at {back - t0:.1f} s")
        deadline = back + RECOVERY_PROMISE
        while time.monotonic() < deadline:
            probes["ready_after"] = stack.call("GET", "/ready")
            if probes["ready_after"].ok:
                break
            time.sleep(0.2)
        probes["ready_after_s"] = time.monotonic() - back
        probes["revoked_after"] = stack.call("GET", "/api/v1/me", revoked.token)

    run = stack.drive("redis-stop", "RDIS", args.duration, fault)
    bad = run.server_errors()
    check(
        "redis-stop: the API keeps answering (zero 5xx, zero failed connections)",
        run.records and not bad,
        f"{len(run.records)} requests, {len(bad)} failed: {describe(bad)}",
    )
    if "ready" in probes:
        check_probes(probes, run)
    return run


def check_probes(probes: dict, run: Run) -> None:
    """What the probes beside the load saw while Redis was down, and after."""
    ready = probes["ready"]
    check(
        "redis-stop: /ready is 503 naming the cache",
        ready.status == 503 and (ready.body or {}).get("failed") == ["cache"],
        f"{ready.status} {ready.body}",
    )
    check(
        "redis-stop: a logged-out token stays refused (blocklist answered by the database)",
        probes["revoked"].status == 401 and probes["revoked"].code == "token_revoked",
        f"{probes['revoked'].status} {probes['revoked'].code}",
    )
    check(
        "redis-stop: the same user's other token still works",
        probes["valid"].status == 200,
        str(probes["valid"].status),
    )
    check(
        "redis-stop: throttles fail open (6 refreshes from one address, none 429)",
        probes["refreshes"] == [401] * 6,
        str(probes["refreshes"]),
    )
    check(
        "redis-stop: a create with Idempotency-Key proceeds without the cache",
        probes["idempotent"].status == 201,
        f"{probes['idempotent'].status} {probes['idempotent'].code}",
    )
    if "ready_after" in probes:
        check(
            "redis-stop: /ready is 200 again once Redis is back",
            probes["ready_after"].ok,
            f"after {probes['ready_after_s']:.2f} s",
        )
        check(
            "redis-stop: the logged-out token is still refused once Redis is back (empty)",
            probes["revoked_after"].code == "token_revoked",
            str(probes["revoked_after"].status),
        )
        run.notes.append(f"/ready 200 {probes['ready_after_s']:.2f} s after Redis returned")
