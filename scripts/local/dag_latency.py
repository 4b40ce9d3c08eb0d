"""How long a changed DAG file in the bucket takes to be parsed and runnable, on the local stack.

The Celery layout's path today: a DAG file is uploaded to s3://<artifacts>/dags/, every component's
``dag-sync`` sidecar (sidecars/dag_sync.py) copies it into the shared DAGs folder every
``airflow:dagSyncIntervalSeconds``, and the dag-processor parses it; the new version is runnable once
the API serves it. This probe runs that path with the real pieces on the local stack (``npm run
local`` must be up): the sidecar itself against moto's artifacts bucket, syncing dags/_probe/ of the
bucket into dags/_probe/ of this checkout (which the local dag-processor reads), and the local
dag-processor and API server.

    python dag_latency.py prepare                          before `npm run local`: the probe DAG, v0
    python dag_latency.py measure [--interval S] [--samples N]   with the stack up

A DAG file that is new to the dag-processor is only found at its next bundle refresh (every
dag_processor.refresh_interval, 5 minutes by default), so the probe (v0) is put in place before the
stack starts (scripts/local/dag-latency.sh does both). `measure` uploads v0 to the bucket, starts the
sidecar, waits for v0 to be served, then N times uploads a changed version (a new description) and
measures from the upload to the API serving it: prints each sample, the median, and the parts (the
sidecar's copy, then the parse). Removes the probe at the end. Interval default: 60 s, the default of
airflow:dagSyncIntervalSeconds, which the stack files keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
API = "http://127.0.0.1:28080"
MOTO = "http://127.0.0.1:25000"
BUCKET = "airflow-local-artifacts"
PREFIX = "dags/_probe/"
DEST = ROOT / "dags" / "_probe"
DAG_ID = "dag_latency_probe"

PROBE = '''"""Probe DAG of scripts/local/dag_latency.py (removed when it ends)."""
import pendulum
from airflow.sdk import DAG, task

with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False,
         description="{description}", tags=["probe"]):
    @task
    def noop():
        return None

    noop()
'''


def call(method: str, path: str, body: object | None = None, token: str | None = None) -> object:
    request = urllib.request.Request(
        f"{API}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def token() -> str:
    password = json.loads((ROOT / ".local" / "secrets.json").read_text())["adminPassword"]
    return call("POST", "/auth/token", {"username": "admin", "password": password})["access_token"]  # type: ignore[index]


def description(t: str) -> str | None:
    try:
        return call("GET", f"/api/v2/dags/{DAG_ID}/details", token=t)["description"]  # type: ignore[index]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return None
        raise


def synced() -> str:
    probe = DEST / "probe.py"
    return probe.read_text() if probe.exists() else ""


def wait(check, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic()
        time.sleep(0.5)
    raise TimeoutError(f"not seen within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["prepare", "measure"])
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    if args.command == "prepare":
        DEST.mkdir(parents=True, exist_ok=True)
        (DEST / "probe.py").write_text(PROBE.format(dag_id=DAG_ID, description="v0"))
        return 0

    s3 = boto3.client(
        "s3", endpoint_url=MOTO, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": MOTO,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "DAG_SYNC_BUCKET": BUCKET,
        "DAG_SYNC_PREFIX": PREFIX,
        "DAG_SYNC_DEST": str(DEST),
        "DAG_SYNC_INTERVAL_SECONDS": str(args.interval),
        "DAG_SYNC_READY_FILE": str(ROOT / ".local" / "dag-latency-ready"),
    }
    DEST.mkdir(parents=True, exist_ok=True)
    sidecar = subprocess.Popen(
        [sys.executable, str(ROOT / "sidecars" / "dag_sync.py")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    t = token()
    try:
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}probe.py", Body=PROBE.format(dag_id=DAG_ID, description="v0"))
        wait(lambda: description(t) == "v0", 300)
        samples, copies = [], []
        for i in range(1, args.samples + 1):
            version = f"v{i}"
            body = PROBE.format(dag_id=DAG_ID, description=version)
            uploaded = time.monotonic()
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}probe.py", Body=body)
            copied = wait(lambda v=version: v in synced(), 900)
            served = wait(lambda v=version: description(t) == v, 900)
            samples.append(served - uploaded)
            copies.append(copied - uploaded)
            print(
                f"sample {i}: changed DAG in the bucket to parsed and served {served - uploaded:.1f} s "
                f"(sidecar copy {copied - uploaded:.1f} s, then parse {served - copied:.1f} s)"
            )
        print(
            f"DAG change to runnable (dag-sync every {args.interval} s, local dag-processor): median "
            f"{statistics.median(samples):.1f} s over {len(samples)} samples "
            f"(copy median {statistics.median(copies):.1f} s, parse median "
            f"{statistics.median(s - c for s, c in zip(samples, copies, strict=True)):.1f} s)"
        )
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=30)
        s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}probe.py")
        shutil.rmtree(DEST, ignore_errors=True)
        try:
            call("DELETE", f"/api/v2/dags/{DAG_ID}", token=t)
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
