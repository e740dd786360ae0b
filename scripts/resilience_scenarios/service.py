"""The service the scenarios break (harness/stack.py, with throttles raised: the run
measures the service, not its limits), its users, and a scenario's run of them."""

import json
import sys
import threading

from harness import run as run_command
from harness.client import request
from harness.image import HTTPS
from harness.load import drive
from harness.report import check
from harness.stack import Stack

from .workload import Actor, Client, Run

WORKERS, THREADS = 2, 4  # gunicorn.conf.py's defaults, set explicitly
RECOVERY_PROMISE = 5.0  # seconds after a dependency is back
PASSWORD = "correct horse battery staple"  # noqa: S105
SETTINGS = {
    "ACCESS_TOKEN_LIFETIME": "7200",  # seconds
    "THROTTLE_USER": "1000000/hour",
    "THROTTLE_LOGIN": "10000/min",
    "THROTTLE_REGISTER": "10000/min",
    "THROTTLE_REFRESH": "3/min",  # only the redis-stop scenario's throttle probe refreshes
    "LOG_LEVEL": "WARNING",
    # The webhooks scenario's receiver listens on loopback.
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
}
BULK_USERS = """
import json
from accounts.models import User
from accounts.services import token_pair_for_user
tokens = {}
for name in %(names)r:
    user = User(username=name, email=name + "@example.com")
    user.set_unusable_password()
    user.save()
    tokens[name] = str(token_pair_for_user(user=user).access)
print(json.dumps(tokens))
"""


class Service(Stack):
    """The stack, plus an owner who makes each scenario's project and the users who work
    in it."""

    def __init__(self, folder, clients: int, pgbouncer: bool = False):
        super().__init__(folder, pgbouncer=pgbouncer)
        self.owner = None
        self.actors: list[Actor] = []
        self.client_count = clients

    def start(self) -> None:
        super().start(workers=WORKERS, threads=THREADS, **SETTINGS)
        self.owner = self.sign_up("owner")
        self.actors = self.bulk_users([f"client{i}" for i in range(self.client_count)])

    def bulk_users(self, names: list[str]) -> list[Actor]:
        """Users with tokens, made in one process: signing each up through the API would
        spend most of the run hashing passwords (Argon2)."""
        command = [sys.executable, "manage.py", "shell", "-c", BULK_USERS % {"names": names}]
        done = run_command(command, self.env, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"creating users failed: {done.stdout}{done.stderr}")
        tokens = json.loads(done.stdout.strip().splitlines()[-1])
        return [Actor(name, tokens[name]) for name in names]

    def sign_up(self, name: str) -> Actor:
        """A user registered and logged in through the API."""
        username = f"load-{name}"
        account = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        answer = self.call("POST", "/api/v1/auth/register", body=account)
        if answer.status != 201:
            raise RuntimeError(f"register {username}: {answer.status} {answer.body}")
        login = {"username": username, "password": PASSWORD}
        answer = self.call("POST", "/api/v1/auth/login", body=login)
        if answer.status != 200:
            raise RuntimeError(f"login {username}: {answer.status} {answer.body}")
        return Actor(username, answer.body["access_token"])

    def call(self, method, path, token=None, body=None, headers=None):
        """A request as the ingress forwards a client's."""
        return request(self.server.port, method, path, token, body, {**HTTPS, **(headers or {})})

    def new_project(self, key: str) -> None:
        body = {"key": key, "name": f"Resilience {key}", "visibility": "private"}
        answer = self.call("POST", "/api/v1/projects", self.owner.token, body)
        if answer.status != 201:
            raise RuntimeError(f"create project {key}: {answer.status} {answer.body}")
        for actor in self.actors:
            member = {"username": actor.username, "role": "developer"}
            answer = self.call("POST", f"/api/v1/projects/{key}/members", self.owner.token, member)
            if answer.status != 201:
                raise RuntimeError(f"add member: {answer.status} {answer.body}")

    def drive(
        self, name: str, project: str, seconds: float, fault=None, prepare=None, clients=None
    ) -> Run:
        """Run the clients (all, or the first `clients`) for `seconds`, with
        `fault(run, t0)` in a thread beside them (and `prepare(project)` once the project
        is there, before the clients start)."""
        self.new_project(project)
        if prepare is not None:
            prepare(project)
        stop = threading.Event()
        clients = [
            Client(i, actor, self.server.port, project, stop, f"{name}-{i}", HTTPS)
            for i, actor in enumerate(self.actors[:clients])
        ]
        run = Run(name, project, seconds, clients, ready=[])
        prober = threading.Thread(target=self.probe_ready, args=(run, stop), daemon=True)
        inject = (lambda t0: fault(run, t0)) if fault is not None else None
        run.seconds, failure = drive([*clients, prober], stop, seconds, inject)
        if fault is not None:
            check(f"{name}: the fault ran to its end", not failure, repr(failure))
        return run

    def probe_ready(self, run: Run, stop: threading.Event) -> None:
        while not stop.is_set():
            run.ready.append(self.call("GET", "/ready"))
            stop.wait(0.25)
