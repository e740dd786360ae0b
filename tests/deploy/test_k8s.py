"""The Kubernetes manifests fit together: probes, hardening, and every key they reference."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = [
    document
    for path in sorted((ROOT / "k8s").glob("*.yaml"))
    for document in yaml.safe_load_all(path.read_text())
    if document
]
NAMESPACE = "issue-tracker"
WEB_PORT = 8000


def resources(kind):
    return [manifest for manifest in MANIFESTS if manifest["kind"] == kind]


def one(kind):
    (manifest,) = resources(kind)
    return manifest


def deployment(component):
    """The Deployment of one component: web, worker or beat."""
    (manifest,) = [
        m
        for m in resources("Deployment")
        if m["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    return manifest


def pod_spec(workload):
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


WORKLOADS = resources("Deployment") + resources("Job") + resources("CronJob")
CONTAINERS = [
    pytest.param(workload, container, id=f"{workload['kind']}/{container['name']}")
    for workload in WORKLOADS
    for container in pod_spec(workload)["containers"]
]


def documented_variables():
    text = (ROOT / ".env.sample").read_text()
    return set(re.findall(r"^([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def test_every_kind_the_deployment_needs_is_there():
    kinds = {manifest["kind"] for manifest in MANIFESTS}

    assert kinds >= {
        "Namespace",
        "ConfigMap",
        "Secret",
        "Service",
        "Deployment",
        "Ingress",
        "HorizontalPodAutoscaler",
        "Job",
        "PodDisruptionBudget",
        "CronJob",
    }
    assert one("HorizontalPodAutoscaler")["apiVersion"] == "autoscaling/v2"


def test_everything_lives_in_the_namespace():
    namespaced = [m for m in MANIFESTS if m["kind"] != "Namespace"]

    assert one("Namespace")["metadata"]["name"] == NAMESPACE
    assert {m["metadata"].get("namespace") for m in namespaced} == {NAMESPACE}


def test_probes_check_liveness_readiness_and_startup_on_the_served_port():
    (container,) = pod_spec(deployment("web"))["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}

    paths = {
        probe: (container[probe]["httpGet"]["path"], ports[container[probe]["httpGet"]["port"]])
        for probe in ("livenessProbe", "readinessProbe", "startupProbe")
    }
    assert paths == {
        "livenessProbe": ("/health", WEB_PORT),
        "readinessProbe": ("/ready", WEB_PORT),
        "startupProbe": ("/health", WEB_PORT),
    }


def test_the_web_pod_runs_the_images_command():
    (container,) = pod_spec(deployment("web"))["containers"]

    assert "command" not in container
    assert "args" not in container


def test_jobs_run_migrate_and_prune_tokens():
    commands = {w["kind"]: c.get("command") for w in WORKLOADS for c in pod_spec(w)["containers"]}

    assert commands["Job"] == ["python", "manage.py", "migrate", "--no-input"]
    assert commands["CronJob"] == ["python", "manage.py", "prune_tokens"]


def test_every_workload_runs_the_same_image():
    images = {c["image"] for w in WORKLOADS for c in pod_spec(w)["containers"]}

    assert len(images) == 1


def test_rolling_update_never_lowers_capacity():
    strategy = deployment("web")["spec"]["strategy"]

    assert strategy["type"] == "RollingUpdate"
    assert strategy["rollingUpdate"]["maxUnavailable"] == 0


def test_shutdown_fits_in_the_grace_period():
    """preStop sleep plus gunicorn's graceful timeout must end before the pod is killed."""
    spec = pod_spec(deployment("web"))
    (container,) = spec["containers"]
    sleep = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    config = (ROOT / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r'"GUNICORN_GRACEFUL_TIMEOUT", (\d+)', config).group(1))

    assert sleep + graceful < spec["terminationGracePeriodSeconds"]


@pytest.mark.parametrize("workload", WORKLOADS, ids=lambda w: w["metadata"]["name"])
def test_pods_run_as_non_root_with_the_default_seccomp_profile(workload):
    context = pod_spec(workload)["securityContext"]

    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] != 0
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod_spec(workload)["automountServiceAccountToken"] is False


@pytest.mark.parametrize(("workload", "container"), CONTAINERS)
def test_containers_are_locked_down(workload, container):
    context = container["securityContext"]

    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context.get("privileged", False) is False


@pytest.mark.parametrize(("workload", "container"), CONTAINERS)
def test_tmp_is_the_writable_empty_dir(workload, container):
    volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}

    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108


@pytest.mark.parametrize(("workload", "container"), CONTAINERS)
def test_containers_have_requests_and_limits(workload, container):
    resources = container["resources"]

    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"cpu", "memory"}


@pytest.mark.parametrize(("workload", "container"), CONTAINERS)
def test_every_referenced_config_map_and_secret_key_exists(workload, container):
    config_maps = {m["metadata"]["name"]: m.get("data", {}) for m in resources("ConfigMap")}
    secrets = {
        m["metadata"]["name"]: {**m.get("data", {}), **m.get("stringData", {})}
        for m in resources("Secret")
    }
    spec = pod_spec(workload)

    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            assert source["configMapRef"]["name"] in config_maps
        if "secretRef" in source:
            assert source["secretRef"]["name"] in secrets
    for variable in container.get("env", []):
        ref = variable.get("valueFrom", {})
        if "configMapKeyRef" in ref:
            assert ref["configMapKeyRef"]["key"] in config_maps[ref["configMapKeyRef"]["name"]]
        if "secretKeyRef" in ref:
            assert ref["secretKeyRef"]["key"] in secrets[ref["secretKeyRef"]["name"]]
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            keys = secrets[volume["secret"]["secretName"]]
            assert {item["key"] for item in volume["secret"].get("items", [])} <= set(keys)
        if "configMap" in volume:
            keys = config_maps[volume["configMap"]["name"]]
            assert {item["key"] for item in volume["configMap"].get("items", [])} <= set(keys)


@pytest.mark.parametrize(("workload", "container"), CONTAINERS)
def test_key_file_paths_point_at_mounted_secret_files(workload, container):
    (config,) = resources("ConfigMap")
    spec = pod_spec(workload)
    mounted = {}
    for mount in container["volumeMounts"]:
        (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
        for item in volume.get("secret", {}).get("items", []):
            mounted[f"{mount['mountPath']}/{item['path']}"] = item["key"]

    for name in ("PRIVATE_KEY_PATH", "PREVIOUS_PUBLIC_KEYS_PATH"):
        assert config["data"][name] in mounted


@pytest.mark.parametrize(("workload", "container"), CONTAINERS)
def test_pods_get_production_settings_and_every_required_secret(workload, container):
    (config,) = resources("ConfigMap")
    secret_env = {v["name"] for v in container["env"] if "secretKeyRef" in v["valueFrom"]}

    assert config["data"]["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= secret_env
    assert "ALLOWED_HOSTS" in config["data"]


def test_jobs_keep_prometheus_metrics_in_memory():
    """With PROMETHEUS_MULTIPROC_DIR set, migrate would write to a folder only gunicorn makes."""
    (config,) = resources("ConfigMap")

    assert "PROMETHEUS_MULTIPROC_DIR" not in config["data"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in documented_variables()


def test_every_variable_set_is_one_the_service_reads():
    """A misspelt variable would be ignored silently; .env.sample lists every real one."""
    (config,) = resources("ConfigMap")
    secret_env = {
        v["name"] for w in WORKLOADS for c in pod_spec(w)["containers"] for v in c.get("env", [])
    }

    assert set(config["data"]) | secret_env <= documented_variables()


def test_secret_template_holds_placeholders_only():
    (secret,) = resources("Secret")

    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert value == "" or "REPLACE_WITH" in value, key


def test_service_and_disruption_budget_select_the_web_pods():
    labels = deployment("web")["spec"]["template"]["metadata"]["labels"]
    service = one("Service")

    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"].items() <= labels.items()
    assert one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment("web")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == "http"


def test_prometheus_scrapes_the_pods_metrics():
    annotations = deployment("web")["spec"]["template"]["metadata"]["annotations"]

    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(WEB_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"


def test_the_web_pods_get_the_metrics_token_from_the_secret():
    """Without it /metrics is a 404 to everyone, Prometheus included (test_metrics.py)."""
    (container,) = pod_spec(deployment("web"))["containers"]
    env = {v["name"]: v.get("valueFrom") for v in container["env"]}
    (secret,) = resources("Secret")
    (config,) = resources("ConfigMap")

    assert env["METRICS_TOKEN"] == {
        "secretKeyRef": {"name": secret["metadata"]["name"], "key": "METRICS_TOKEN"}
    }
    assert "REPLACE_WITH" in secret["stringData"]["METRICS_TOKEN"]
    assert "METRICS_TOKEN" not in config["data"]


def test_ingress_serves_tls_and_does_not_route_metrics_or_probes():
    spec = one("Ingress")["spec"]
    hosts = {rule["host"] for rule in spec["rules"]}
    paths = [path["path"] for rule in spec["rules"] for path in rule["http"]["paths"]]

    assert hosts <= {host for tls in spec["tls"] for host in tls["hosts"]}
    assert all(tls["secretName"] for tls in spec["tls"])
    for internal in ("/metrics", "/health", "/ready"):
        assert not any(internal.startswith(path.rstrip("/") or "/") for path in paths), internal
    assert "/api" in paths
    assert deployment("web")["metadata"]["name"] == one("Service")["metadata"]["name"]


def test_ingress_host_is_an_allowed_host():
    (config,) = resources("ConfigMap")
    hosts = {rule["host"] for rule in one("Ingress")["spec"]["rules"]}

    assert hosts <= set(config["data"]["ALLOWED_HOSTS"].split(","))


def test_autoscaler_scales_the_deployment_on_cpu_and_memory():
    hpa = one("HorizontalPodAutoscaler")["spec"]

    assert hpa["scaleTargetRef"]["name"] == deployment("web")["metadata"]["name"]
    assert {m["resource"]["name"] for m in hpa["metrics"]} == {"cpu", "memory"}
    assert hpa["minReplicas"] >= 2
    assert "replicas" not in deployment("web")["spec"]


def test_the_ingress_is_the_one_proxy_whose_forwarded_for_is_trusted():
    """One trusted hop: the client is the address the ingress appended (api.clients)."""
    assert one("ConfigMap")["data"]["NUM_PROXIES"] == "1"


def test_the_deployments_are_web_worker_and_beat():
    components = sorted(
        m["metadata"]["labels"]["app.kubernetes.io/component"] for m in resources("Deployment")
    )

    assert components == ["beat", "web", "worker"]
    for component in components:
        spec = deployment(component)["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()


def test_workers_run_celery_and_scale_apart_from_web():
    worker = deployment("worker")
    (container,) = pod_spec(worker)["containers"]
    hpa = one("HorizontalPodAutoscaler")["spec"]

    assert container["command"][:4] == ["celery", "-A", "config", "worker"]
    assert worker["spec"]["replicas"] >= 1
    assert hpa["scaleTargetRef"]["name"] != worker["metadata"]["name"]
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_the_worker_liveness_probe_pings_this_worker():
    """An exec probe through the broker: the pod's own worker must answer, not just any."""
    (container,) = pod_spec(deployment("worker"))["containers"]
    shell, flag, script = container["livenessProbe"]["exec"]["command"]

    assert (shell, flag) == ("sh", "-c")
    assert script.startswith("celery -A config inspect ping")
    # $HOSTNAME for sh; Kubernetes would leave $(HOSTNAME) alone and sh would run it.
    assert '-d "celery@$HOSTNAME"' in script
    assert container["livenessProbe"]["timeoutSeconds"] > 5


def test_there_is_exactly_one_beat():
    beat = deployment("beat")
    (container,) = pod_spec(beat)["containers"]

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert container["command"][:4] == ["celery", "-A", "config", "beat"]
    schedule = container["command"][container["command"].index("--schedule") + 1]
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert schedule.startswith("/tmp/") and "/tmp" in mounts  # noqa: S108


def test_no_service_or_budget_selects_worker_or_beat_pods():
    selectors = [one("Service")["spec"]["selector"]]
    selectors.append(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])

    for component in ("worker", "beat"):
        labels = deployment(component)["spec"]["template"]["metadata"]["labels"]
        assert not any(selector.items() <= labels.items() for selector in selectors), component
