"""The resilience scenarios' workload: users working in one project (lists, search, detail,
create, comment, transition), and what they did."""

from collections import Counter
from dataclasses import dataclass, field

from harness.client import Answer
from harness.load import Client as LoadClient
from harness.load import Record


@dataclass
class Actor:
    username: str
    token: str


class Client(LoadClient):
    """One user working in the scenario's project until told to stop."""

    WEIGHTS = {"list": 25, "search": 5, "detail": 20, "create": 20, "comment": 15, "move": 15}

    def __init__(self, index, actor, port, project, stop, seed, headers):
        super().__init__(index, port, actor.token, stop, seed, headers)
        self.actor, self.project = actor, project
        self.created: dict[str, str] = {}  # title -> key, each acknowledged with a 201
        self.comments: list[str] = []  # bodies acknowledged with a 201
        self.moves = 0  # transitions acknowledged with a 200
        self.status: dict[str, str] = {}  # the client's issues and their last known status
        self.sequence = 0

    def first(self):
        return None if self.status else "create"

    def do_list(self):
        order = self.random.choice(["-updated_at", "number", "-priority"])
        self.call("list", "GET", f"/api/v1/projects/{self.project}/issues?ordering={order}")

    def do_search(self):
        self.call("list", "GET", f"/api/v1/issues?project={self.project}&search=client")

    def do_detail(self):
        key = self.random.choice(list(self.status))
        self.call("detail", "GET", f"/api/v1/issues/{key}")

    def do_create(self):
        self.sequence += 1
        title = f"{self.project} client {self.index} issue {self.sequence}"
        body = {"title": title, "assignee": self.actor.username}
        answer = self.call("create", "POST", f"/api/v1/projects/{self.project}/issues", body)
        if answer.status == 201:
            self.created[title] = answer.body["key"]
            self.status[answer.body["key"]] = answer.body["status"]

    def do_comment(self):
        self.sequence += 1
        key = self.random.choice(list(self.status))
        text = f"{self.project} client {self.index} comment {self.sequence}"
        answer = self.call("comment", "POST", f"/api/v1/issues/{key}/comments", {"body": text})
        if answer.status == 201:
            self.comments.append(text)

    def do_move(self):
        key = self.random.choice(list(self.status))
        target = "in_progress" if self.status[key] == "open" else "open"
        answer = self.call("move", "POST", f"/api/v1/issues/{key}/status", {"status": target})
        if answer.ok:
            self.moves += 1
            self.status[key] = answer.body["status"]
        elif answer.status == 409 and "current_status" in (answer.body or {}):
            # A move whose answer was lost may have happened: follow the stored status.
            self.status[key] = answer.body["current_status"]


@dataclass
class Run:
    """What a scenario's clients did, for the checks and the figures."""

    name: str
    project: str
    seconds: float
    clients: list[Client]
    ready: list[Answer]  # /ready, polled throughout
    notes: list[str] = field(default_factory=list)
    probe_created: dict[str, str] = field(default_factory=dict)  # created beside the clients

    @property
    def records(self) -> list[Record]:
        return [record for client in self.clients for record in client.records]

    def statuses(self) -> Counter:
        return Counter(
            "error" if r.answer.status is None else f"{r.answer.status // 100}xx"
            for r in self.records
        )

    def unknown(self, op: str) -> int:
        """Writes whose answer did not say whether they happened."""
        return sum(
            1
            for r in self.records
            if r.op == op and (r.answer.status is None or r.answer.status >= 500)
        )

    def server_errors(self, since: float = 0.0) -> list[Record]:
        """Requests answered 5xx or not at all (ended at `since` or later)."""
        return [
            r
            for r in self.records
            if r.answer.ended >= since and (r.answer.status is None or r.answer.status >= 500)
        ]


def describe(records: list[Record]) -> str:
    kinds = Counter(
        f"{r.op} {r.answer.status or r.answer.error} {r.answer.code}".strip() for r in records
    )
    return ", ".join(f"{n} x {k}" for k, n in kinds.most_common(5)) or "none"
