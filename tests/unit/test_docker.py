"""The Docker deployment cannot run here (no engine): check its files instead.

Every compose service must run a command that exists among the image's entry points
(``docker/entrypoints``, copied into the image and put on its PATH), every job the job
runner names must exist under ``jobs/``, and every project folder the Dockerfile copies
must exist.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
ENTRYPOINTS = DOCKER / "entrypoints"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _services() -> dict[str, dict[str, Any]]:
    services = _compose()["services"]
    assert isinstance(services, dict) and services
    return services


def test_compose_has_master_workers_mlflow_and_job_runner() -> None:
    commands = {name: svc["command"][0] for name, svc in _services().items()}
    assert list(commands.values()).count("spark-worker") >= 2
    assert "spark-master" in commands.values()
    assert "mlflow-server" in commands.values()
    assert "dmp-job" in commands.values()


@pytest.mark.parametrize("name", sorted(_services()))
def test_every_service_command_is_an_image_entry_point(name: str) -> None:
    service = _services()[name]
    command = service["command"]
    assert isinstance(command, list) and command, f"{name}: command must be an exec-form list"
    entry = ENTRYPOINTS / command[0]
    assert entry.is_file(), f"{name}: {command[0]} is not in docker/entrypoints"
    assert os.access(entry, os.X_OK), f"{name}: {entry} is not executable"
    assert entry.read_text().startswith("#!/usr/bin/env bash"), f"{entry} lacks a shebang"
    # Every service builds (or reuses) the project image.
    assert service.get("image") == "dmp:latest"
    if command[0] == "dmp-job":
        job = command[1]
        assert (ROOT / "jobs" / f"{job}.py").is_file(), f"{name}: jobs/{job}.py does not exist"


def test_workers_point_at_the_master_service() -> None:
    services = _services()
    for name, svc in services.items():
        if svc["command"][0] != "spark-worker":
            continue
        url = svc["environment"]["SPARK_MASTER_URL"]
        host = re.fullmatch(r"spark://([\w-]+):\d+", url)
        assert host and host.group(1) in services, f"{name}: {url} names no service"


def test_mlflow_server_has_its_own_backend_store() -> None:
    text = (ENTRYPOINTS / "mlflow-server").read_text()
    assert "--backend-store-uri" in text
    mlflow = next(s for s in _services().values() if s["command"][0] == "mlflow-server")
    assert any(v.endswith(":/mlflow") for v in mlflow["volumes"])


def test_dockerfile_copies_existing_folders_and_puts_entry_points_on_path() -> None:
    text = (DOCKER / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", text, flags=re.MULTILINE):
        assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    assert "docker/entrypoints" in text and 'PATH="/opt/dmp/docker/entrypoints' in text


def test_entry_points_use_the_same_spark_classes_as_the_cluster_script() -> None:
    cluster = (ROOT / "scripts" / "cluster.sh").read_text()
    for entry, cls in [
        ("spark-master", "org.apache.spark.deploy.master.Master"),
        ("spark-worker", "org.apache.spark.deploy.worker.Worker"),
    ]:
        assert cls in (ENTRYPOINTS / entry).read_text()
        assert cls in cluster


@pytest.mark.parametrize("name", sorted(_services()))
def test_published_ports_bind_to_loopback_by_default(name: str) -> None:
    # Spark and MLflow have no authentication: a bare "5000:5000" publishes them on every
    # interface of the host.
    for port in _services()[name].get("ports", []):
        published = str(port)
        host = published.rsplit(":", 2)[0] if published.count(":") >= 2 else ""
        default = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", host)
        assert default == "127.0.0.1", f"{name}: {published} is not bound to 127.0.0.1"
