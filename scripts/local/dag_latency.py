"""How long a new and a changed DAG file in the bucket take to be parsed and runnable, on the local stack.

The Celery layout's path: a deploy puts a DAG file under s3://<artifacts>/dags/, each task's
``dag-sync`` sidecar (sidecars/dag_sync.py) copies the bucket's ``dags/`` into its task's DAGs volume
every ``airflow:dagSyncIntervalSeconds`` (locally every 2 s), and the dag-processor parses it; the new
version is runnable once the API serves it. ``npm run local`` runs that path itself (its dag-sync
containers, against moto's artifacts bucket): this probe only puts files in the bucket, as a deploy
does, and watches the dag-processor task's DAGs volume (.local/tasks/dag-processor/volumes/dags) and the API.

    python dag_latency.py measure [--samples N]   with the stack up (scripts/local/dag-latency.sh)

Uploads the probe DAG (v0: a new file), then N times a changed version (a new description), and
measures each from the upload to the API serving it: prints each sample, the medians, and the parts
(dag-sync's copy into the volume, then the parse). Removes the probe (from the bucket, so dag-sync
removes it from the volumes, and from the API) at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
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
# The dag-processor task's DAGs volume, which its dag-sync fills (scripts/local/tasks.ts, volumeDir).
VOLUME = ROOT / ".local" / "tasks" / "dag-processor" / "volumes" / "dags" / "_probe"
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
    probe = VOLUME / "probe.py"
    try:
        return probe.read_text()
    except OSError:
        return ""


def wait(check, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic()
        time.sleep(0.2)
    raise TimeoutError(f"not seen within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["measure"])
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()

    s3 = boto3.client(
        "s3", endpoint_url=MOTO, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    t = token()
    try:
        samples, copies = [], []
        for i in range(0, args.samples + 1):
            version = f"v{i}"
            body = PROBE.format(dag_id=DAG_ID, description=version)
            uploaded = time.monotonic()
            s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}probe.py", Body=body)
            copied = wait(lambda v=version: f'description="{v}"' in synced(), 120)
            served = wait(lambda v=version: description(t) == v, 120)
            what = "new DAG file" if i == 0 else "changed DAG file"
            print(
                f"{what} ({version}) in the bucket to parsed and served {served - uploaded:.1f} s "
                f"(dag-sync copy {copied - uploaded:.1f} s, then parse {served - copied:.1f} s)"
            )
            if i > 0:
                samples.append(served - uploaded)
                copies.append(copied - uploaded)
        print(
            f"DAG change to runnable (the stack's dag-sync, local dag-processor): median "
            f"{statistics.median(samples):.1f} s over {len(samples)} samples "
            f"(copy median {statistics.median(copies):.1f} s, parse median "
            f"{statistics.median(s - c for s, c in zip(samples, copies, strict=True)):.1f} s)"
        )
    finally:
        s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}probe.py")
        try:
            wait(lambda: not (VOLUME / "probe.py").exists(), 30)
        except TimeoutError:
            print("warning: dag-sync has not removed the probe from the DAGs volume in 30 s", file=sys.stderr)
        try:
            call("DELETE", f"/api/v2/dags/{DAG_ID}", token=t)
        except Exception:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
