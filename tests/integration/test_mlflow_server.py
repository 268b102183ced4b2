"""A lookalike model through a real MLflow tracking server, and the same with the server down.

The server runs as ``mlflow server`` on a loopback port with its own SQLite backend store
and ``--serve-artifacts``; dmp talks to it through ``MLFLOW_TRACKING_URI`` only. The model is
a tiny similarity model fitted on generated feature rows (no Spark): what is under test is
the tracking path of a build (run, artifacts, model, registry alias) and the fail-fast check
that keeps a build from starting when the server is down.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dmp.cli import main
from dmp.config import load_config
from dmp.errors import StageFailed
from dmp.lake import Lake
from dmp.lookalike.features import FeatureSpec
from dmp.lookalike.models import LookalikeModel, fit_model
from dmp.lookalike.tracking import check_tracking_server, load_current_model, log_build

# Starting the server takes 20-100 s on a busy 2-core machine: the system tier.
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.system]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_up(url: str, process: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("mlflow server did not come up")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its workers: our own group
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    """A tracking server on a loopback port: (url, artifact folder, process)."""
    root = tmp_path / "server"
    artifacts = root / "artifacts"
    artifacts.mkdir(parents=True)
    port = _free_port()
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", artifacts.as_uri(),
    ]  # fmt: skip
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url, process)
        yield url, artifacts, process
    finally:
        _stop(process)
        log.close()


def _tiny_model() -> tuple[LookalikeModel, pd.DataFrame]:
    """A similarity model on 200 generated people, 40 of them seed-like."""
    rng = np.random.default_rng(7)
    spec = FeatureSpec.build(["books", "toys"], ["partner_a"], 2)
    frame = pd.DataFrame(rng.normal(size=(200, len(spec.names))), columns=list(spec.names))
    frame.insert(0, "person_id", [f"p{i:03d}" for i in range(200)])
    frame.loc[:39, "aff_books"] += 3.0
    spec = spec.fitted(frame)
    matrix = spec.matrix(frame)
    model = fit_model(
        "similarity", spec, matrix[:40], matrix[40:], frame["person_id"].tolist()[40:],
        centroids=2, bags=1, ratio=1.0, classifier="logistic", seed_value=1,
    )  # fmt: skip
    return model, frame.drop(columns="person_id")


def test_model_round_trips_through_a_tracking_server_and_a_down_server_fails_fast(
    tmp_path: Path,
    server: tuple[str, Path, subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, served, process = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    home = tmp_path / "home"
    settings = load_config(home=home, environ={})
    check_tracking_server(settings)  # up: no error
    model, features = _tiny_model()
    report = tmp_path / "report.html"
    report.write_text("<html><body>tiny</body></html>")

    tracked = log_build(
        settings, audience="srv test", model=model, params={"method": "similarity"},
        metrics={"lift_at_1": 2.5}, tags={"dmp.as_of": "2026-01-02"},
        artifacts={"report": report}, example=features.head(5),
    )  # fmt: skip
    assert tracked.model_name == "lookalike_srv_test" and tracked.model_version == "1"

    import mlflow

    run = mlflow.get_run(tracked.run_id)
    assert run.data.metrics["lift_at_1"] == 2.5
    # artifacts went through the server into its own store, none into the client's data root
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    assert list(served.rglob("report.html")) and list(served.rglob("MLmodel"))
    assert not (home / "mlflow" / "artifacts").exists()

    loaded = mlflow.pyfunc.load_model("models:/lookalike_srv_test@current")
    np.testing.assert_allclose(
        np.asarray(loaded.predict(features)), model.score_frame(features), rtol=1e-12
    )
    assert load_current_model(settings, "srv test").metadata.run_id == tracked.run_id

    _stop(process)
    capsys.readouterr()  # MLflow's own log lines of the build above
    started = time.perf_counter()
    with pytest.raises(StageFailed, match=r"MLflow tracking server http://127\.0\.0\.1:\d+ is not"):
        check_tracking_server(settings)
    code = main(["lookalike", "--home", str(home), "--name", "srv_test", "--segment", "vips"])
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.count("\n") == 0 and "is not reachable" in err, err
    assert elapsed < 20, f"a down server took {elapsed:.1f}s to report"
    assert not Lake(settings.lake_dir).exists("gold/audiences")
