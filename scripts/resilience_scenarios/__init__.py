"""The scenarios of scripts/resilience.py, one module each, in the order `all` runs them.

A scenario is `scenario_<name>(stack, args) -> Run`: it drives the clients of workload.py
against the service (service.py) with its fault beside them and checks what it promises;
data.py then checks what every scenario promises about the stored data. A new scenario is
a module here and a line below.
"""

from .broker_restarts import scenario_broker_restarts
from .load import scenario_load
from .pg_restart import scenario_pg_restart
from .redis_stop import scenario_redis_stop
from .webhooks import WEBHOOK_WAIT, scenario_webhooks
from .worker_kill import scenario_worker_kill

SCENARIOS = {
    "load": scenario_load,
    "pg-restart": scenario_pg_restart,
    "redis-stop": scenario_redis_stop,
    "worker-kill": scenario_worker_kill,
    "webhooks": scenario_webhooks,
    "broker-restarts": scenario_broker_restarts,
}

__all__ = ["SCENARIOS", "WEBHOOK_WAIT"]
