"""broker-restarts: Redis, the broker, stops for a second and comes back BROKER_RESTARTS
times, BROKER_UP seconds apart, while a quarter of the clients' writes keep the Celery
worker busy. The same worker process is there at the end (nothing restarted it: no
"Unrecoverable error"), and every committed event was delivered as in `webhooks`."""

import time

from harness.report import check, note

from .service import Service
from .webhooks import WebhookRig
from .workload import Run

BROKER_RESTARTS = 5
# Seconds between outages: the worker reconnects (its first try is 2 s after it lost the
# broker, the next 4 s later), then works.
BROKER_UP = 8.0


def scenario_broker_restarts(stack: Service, args) -> Run:
    # When the broker goes, the worker holds tasks it has not acknowledged (the retries it
    # keeps until they are due: the receiver turns away the first attempt of one message in
    # four) while it waits for more (a quarter of the clients leave it time to wait): the
    # moment kombu's Redis transport used to take the worker down at.
    rig = WebhookRig(stack, fail_every=4)
    worker = rig.workers.current
    pid = worker.process.pid
    outage = min(args.outage, 1.0)
    seconds = max(args.duration, BROKER_RESTARTS * (BROKER_UP + outage) + BROKER_UP)

    def fault(run: Run, t0: float) -> None:
        for n in range(BROKER_RESTARTS):
            time.sleep(BROKER_UP)
            stack.redis.stop()
            time.sleep(outage)
            stack.redis.start()
            alive = worker.process.poll() is None
            note(f"broker restart {n + 1}: {outage:.1f} s down; worker {pid} alive: {alive}")

    try:
        rig.start()
        clients = max(1, len(stack.actors) // 4)
        run = stack.drive("broker-restarts", "BRKR", seconds, fault, rig.prepare, clients)
        rig.settle(run)
        output = worker.log_path.read_text(errors="replace")
        check(
            f"broker-restarts: the same worker (pid {pid}) rode out {BROKER_RESTARTS} broker "
            "restarts",
            worker.process.poll() is None and "Unrecoverable error" not in output,
            f"exit code {worker.process.poll()}; "
            f"{output.count('Connection to broker lost')} connection losses in its log",
        )
        reconnects = output.count("Connected to ") - 1
        run.notes.append(
            f"{BROKER_RESTARTS} broker outages of {outage:.1f} s; worker {pid} reconnected "
            f"{reconnects} times, {output.count('Restoring')} times giving back unacknowledged "
            "tasks"
        )
    finally:
        rig.close()
    return run
