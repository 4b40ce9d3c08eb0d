"""Time from a changed DAG file in the bucket to the new version parsed (issue 16, item 2).

Measures the real Airflow dag-processor against moto's S3 server, two ways:

* ``dag-sync``: sidecars/dag_sync.py copies s3://bucket/dags/ into a folder every INTERVAL seconds,
  and the dag-processor parses that folder (the default ``dags-folder`` bundle), as on the Celery
  layout today;
* ``s3-bundle``: the amazon provider's ``S3DagBundle`` is the only bundle, with ``refresh_interval``
  INTERVAL, and the dag-processor downloads the prefix itself.

Each run uploads a new version of one DAG file (its ``description`` carries the version) and polls
the metadata database until the ``dag`` row shows that description: then the scheduler can run it.
A change that keeps the file's size is measured separately (the pinned provider only downloads a
file whose size changed). Prints one line per run and the medians.

    .venv/bin/python tools/measure/dag_change_latency.py [--interval 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "artifacts"
PREFIX = "dags/"
DAG_ID = "latency_probe"


def dag_source(description: str) -> bytes:
    return (
        "import pendulum\n"
        "from airflow.sdk import dag, task\n\n"
        f"@dag(dag_id={DAG_ID!r}, description={description!r}, schedule=None,\n"
        "     start_date=pendulum.datetime(2024, 1, 1, tz='UTC'), catchup=False)\n"
        "def probe():\n"
        "    @task\n"
        "    def hello():\n"
        "        return 1\n"
        "    hello()\n\n"
        "probe()\n"
    ).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parsed_description(db: Path) -> str | None:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("select description from dag where dag_id = ?", (DAG_ID,)).fetchone()
        return row[0] if row else None
    except sqlite3.Error:
        return None


def wait_for(db: Path, description: str, timeout: float) -> float | None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if parsed_description(db) == description:
            return time.monotonic() - start
        time.sleep(0.25)
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--interval", type=int, default=10, help="dag-sync interval = bundle refresh_interval")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mode", choices=["dag-sync", "s3-bundle", "both"], default="both")
    opts = ap.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AWS_"))}
    base_env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
        }
    )
    os.environ.update(base_env)
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    results: dict[str, dict[str, list]] = {}
    modes = ["dag-sync", "s3-bundle"] if opts.mode == "both" else [opts.mode]
    for mode in modes:
        home = Path(tempfile.mkdtemp(prefix=f"latency-{mode}-"))
        dags = home / "dags"
        dags.mkdir()
        db = home / "airflow.db"
        env = dict(base_env)
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
                "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": str(opts.interval),
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": str(opts.interval),
                "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "bundles"),
                "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws", "extra": {"endpoint_url": endpoint}}),
            }
        )
        if mode == "s3-bundle":
            env["AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST"] = json.dumps(
                [
                    {
                        "name": "dags",
                        "classpath": "airflow.providers.amazon.aws.bundles.s3.S3DagBundle",
                        "kwargs": {"bucket_name": BUCKET, "prefix": PREFIX, "refresh_interval": opts.interval},
                    }
                ]
            )
        airflow = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{DAG_ID}.py", Body=dag_source("v-start"))
        if mode == "dag-sync":
            sync_env = dict(
                env,
                DAG_SYNC_BUCKET=BUCKET,
                DAG_SYNC_PREFIX=PREFIX,
                DAG_SYNC_DEST=str(dags),
                DAG_SYNC_INTERVAL_SECONDS=str(opts.interval),
                DAG_SYNC_READY_FILE=str(home / "ready"),
            )
            sync = subprocess.Popen(
                [sys.executable, str(ROOT / "sidecars" / "dag_sync.py")],
                env=sync_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        log = open(home / "dag-processor.log", "w")
        proc = subprocess.Popen(
            [airflow, "dag-processor"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            first = wait_for(db, "v-start", 180)
            if first is None:
                print(f"{mode}: the first version was never parsed; see {home / 'dag-processor.log'}")
                return 1
            runs: dict[str, list] = {"size-changed": [], "same-size": []}
            timeout = 3 * opts.interval + 60
            for i in range(opts.runs):
                # Uploaded at a random point of the poll cycle, as a real change is.
                time.sleep(1 + (i * 0.37 * opts.interval) % opts.interval)
                for kind in ("size-changed", "same-size"):
                    description = f"v-{kind}-{i}" + ("x" * (i + 1) if kind == "size-changed" else "")
                    if kind == "same-size":
                        # the same length as the version now in the bucket
                        current = parsed_description(db) or ""
                        description = (f"v-same-{i}" + "y" * 64)[: len(current)]
                    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{DAG_ID}.py", Body=dag_source(description))
                    took = wait_for(db, description, timeout)
                    runs[kind].append(took)
                    shown = f"{took:.1f} s" if took is not None else f"not parsed within {timeout} s"
                    print(f"{mode} run {i + 1} {kind}: {shown}", flush=True)
                    if took is None and kind == "same-size":
                        # put a distinguishable version back so the next run starts from a parsed state
                        s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{DAG_ID}.py", Body=dag_source(f"v-reset-{i}-z"))
                        wait_for(db, f"v-reset-{i}-z", timeout)
            results[mode] = runs
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
            if mode == "dag-sync":
                sync.terminate()
                sync.wait(10)
    server.stop()
    print(f"interval {opts.interval} s (dag-sync interval, bundle refresh_interval, min_file_process_interval)")
    for mode, runs in results.items():
        for kind, values in runs.items():
            seen = [v for v in values if v is not None]
            median = f"median {statistics.median(seen):.1f} s" if seen else "never"
            print(f"{mode} {kind}: {median} ({len(seen)}/{len(values)} parsed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
