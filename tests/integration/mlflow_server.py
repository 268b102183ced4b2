"""A real ``mlflow server`` for tests: loopback port, its own SQLite store, served artifacts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class TrackingServer:
    """A running tracking server: its URL, artifact folder, process and log."""

    url: str
    artifacts: Path
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    def stop(self) -> None:
        """Stop the server and its workers (its own process group); idempotent."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                # uvicorn stops in a second; the server's job-runner children can linger
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.log.close()


def start_server(root: Path, timeout_s: float = 180.0) -> TrackingServer:
    """Start ``mlflow server`` under ``root`` and wait until ``/health`` answers.

    Its backend store is ``root/mlflow.db``; ``--serve-artifacts`` keeps artifacts in
    ``root/artifacts`` so clients upload them through the server. Its log is
    ``root/server.log``.

    Raises:
        RuntimeError: The server exited or did not answer within ``timeout_s``.
    """
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
    server = TrackingServer(f"http://127.0.0.1:{port}", artifacts, process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            tail = (root / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"mlflow server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(server.url + "/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server did not answer within {timeout_s:.0f}s")
