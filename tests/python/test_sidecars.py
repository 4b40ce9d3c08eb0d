"""The sidecar programs the Celery layout's task definitions run (sidecars/), against moto.

The program passes each file's source to ``python -c``, so these tests run them the same way, as a
separate process, against moto's server; and call their functions in-process for the details.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import boto3
from sqlalchemy import create_engine, text

from conftest import REGION, ROOT

SIDECARS = ROOT / "sidecars"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SIDECARS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_as_task_definition(name: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a sidecar as ECS does: ``python -c <source>`` with the container's environment."""
    source = (SIDECARS / f"{name}.py").read_text()
    full_env = {**os.environ, "AWS_DEFAULT_REGION": REGION, **env}
    return subprocess.run(
        [sys.executable, "-c", source], env=full_env, capture_output=True, text=True, timeout=60, check=False
    )


def put(s3, bucket: str, key: str, body: str) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def test_dag_sync_mirrors_the_dags_prefix_and_marks_itself_ready(moto_server: boto3.Session, tmp_path: Path):
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket="artifacts")
    put(s3, "artifacts", "dags/daily.py", "# daily\n")
    put(s3, "artifacts", "dags/etl/load.py", "# load\n")
    put(s3, "artifacts", "requirements/requirements.txt", "not a dag\n")
    dest, ready = tmp_path / "dags", tmp_path / "ready"
    env = {
        "DAG_SYNC_BUCKET": "artifacts",
        "DAG_SYNC_DEST": str(dest),
        "DAG_SYNC_READY_FILE": str(ready),
        "DAG_SYNC_RUNS": "1",
    }

    first = run_as_task_definition("dag_sync", env)
    assert first.returncode == 0, first.stderr
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "daily.py",
        "etl/load.py",
    ]
    assert (dest / "daily.py").read_text() == "# daily\n"
    assert ready.exists()

    # A changed file, a deleted one (its empty folder goes too) and a new one.
    put(s3, "artifacts", "dags/daily.py", "# daily, changed\n")
    s3.delete_object(Bucket="artifacts", Key="dags/etl/load.py")
    put(s3, "artifacts", "dags/weekly.py", "# weekly\n")
    second = run_as_task_definition("dag_sync", env)
    assert second.returncode == 0, second.stderr
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["daily.py", "weekly.py"]
    assert (dest / "daily.py").read_text() == "# daily, changed\n"


def test_dag_sync_downloads_only_what_changed(aws: boto3.Session, tmp_path: Path):
    dag_sync = load("dag_sync")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="artifacts")
    put(s3, "artifacts", "dags/a.py", "a")
    put(s3, "artifacts", "dags/b.py", "b")
    etags: dict = {}
    assert dag_sync.sync_once(s3, "artifacts", "dags/", tmp_path, etags) == {
        "downloaded": 2,
        "removed": 0,
        "unchanged": 0,
    }
    assert dag_sync.sync_once(s3, "artifacts", "dags/", tmp_path, etags) == {
        "downloaded": 0,
        "removed": 0,
        "unchanged": 2,
    }
    put(s3, "artifacts", "dags/b.py", "b2")
    assert dag_sync.sync_once(s3, "artifacts", "dags/", tmp_path, etags)["downloaded"] == 1


def test_dag_sync_never_writes_outside_its_folder(aws: boto3.Session, tmp_path: Path):
    dag_sync = load("dag_sync")
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="artifacts")
    put(s3, "artifacts", "dags/../escape.py", "x")
    dest = tmp_path / "dags"
    dest.mkdir()
    dag_sync.sync_once(s3, "artifacts", "dags/", dest, {})
    assert not (tmp_path / "escape.py").exists()
    assert list(dest.iterdir()) == []


QUEUED_AT = "2026-01-01 12:00:00.000000"


def metadata_database(path: Path) -> str:
    """A database with Airflow's task_instance columns the publisher reads, and some task instances.

    queued_dttm is text, as SQLite keeps Airflow's UtcDateTime; the oldest queued task of "default"
    was queued at QUEUED_AT, a running one earlier (it is not waiting any more)."""
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE task_instance (task_id TEXT, queue TEXT, state TEXT, queued_dttm TEXT)"))
        rows = [
            ("a", "default", "queued", QUEUED_AT),
            ("b", "default", "queued", "2026-01-01 12:04:00.000000"),
            ("c", "default", "running", "2026-01-01 11:00:00.000000"),
            ("d", "default", "success", "2026-01-01 10:00:00.000000"),
            ("e", "large", "running", "2026-01-01 11:30:00.000000"),
            ("f", "large", "scheduled", None),
            ("g", "other", "running", None),
        ]
        for row in rows:
            conn.execute(
                text("INSERT INTO task_instance VALUES (:t, :q, :s, :d)"),
                {"t": row[0], "q": row[1], "s": row[2], "d": row[3]},
            )
    return url


def test_queue_metrics_counts_queued_and_running_tasks_per_pool_queue(tmp_path: Path):
    queue_metrics = load("queue_metrics")
    engine = create_engine(metadata_database(tmp_path / "airflow.db"))
    assert queue_metrics.queue_load(engine, ["default", "large", "idle"]) == {"default": 3, "large": 1, "idle": 0}


def test_queue_metrics_measures_the_oldest_queued_task_per_queue_and_ignores_running_ones(tmp_path: Path):
    from datetime import UTC, datetime

    queue_metrics = load("queue_metrics")
    engine = create_engine(metadata_database(tmp_path / "airflow.db"))
    now = datetime(2026, 1, 1, 12, 10, 30, tzinfo=UTC)
    assert queue_metrics.oldest_queued_age(engine, ["default", "large", "idle"], now) == {
        "default": 630.0,  # task a, queued at 12:00:00; the running task c is older but not waiting
        "large": 0.0,  # running and scheduled tasks only
        "idle": 0.0,
    }


def test_queue_metrics_reads_columns_the_pinned_airflow_has():
    """Both queries run against the metadata database the session's real Airflow migrated."""
    queue_metrics = load("queue_metrics")
    engine = create_engine(f"sqlite:///{Path(os.environ['AIRFLOW_HOME']) / 'airflow.db'}")
    from datetime import UTC, datetime

    assert queue_metrics.queue_load(engine, ["default"]) == {"default": 0}
    assert queue_metrics.oldest_queued_age(engine, ["default"], datetime.now(UTC)) == {"default": 0.0}
    with engine.connect() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(task_instance)"))}
    assert {"queue", "state", "queued_dttm"} <= columns


def published_maxima(cloudwatch, namespace: str, name: str) -> dict[str, tuple[float, str]]:
    """The maximum and unit each queue's datapoints of a metric reached, by Queue dimension."""
    published = {}
    for metric in cloudwatch.list_metrics(Namespace=namespace, MetricName=name)["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
        assert dims["Environment"] == "staging"
        stats = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=name,
            Dimensions=metric["Dimensions"],
            StartTime="2000-01-01T00:00:00Z",
            EndTime="2100-01-01T00:00:00Z",
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
        published[dims["Queue"]] = (max(p["Maximum"] for p in stats), stats[0]["Unit"])
    return published


def test_queue_metrics_publishes_one_datapoint_per_queue_as_the_scaling_alarms_read_it(
    moto_server: boto3.Session, tmp_path: Path
):
    result = run_as_task_definition(
        "queue_metrics",
        {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_database(tmp_path / "airflow.db"),
            "QUEUE_METRICS_QUEUES": "default,large,idle",
            "QUEUE_METRICS_ENVIRONMENT": "staging",
            "QUEUE_METRICS_NAMESPACE": "Airflow/Celery",
            "QUEUE_METRICS_NAME": "QueuedAndRunningTasks",
            "QUEUE_METRICS_AGE_NAME": "OldestQueuedTaskAge",
            "QUEUE_METRICS_RUNS": "1",
        },
    )
    assert result.returncode == 0, result.stderr
    cloudwatch = moto_server.client("cloudwatch")
    load = published_maxima(cloudwatch, "Airflow/Celery", "QueuedAndRunningTasks")
    assert load == {"default": (3.0, "Count"), "large": (1.0, "Count"), "idle": (0.0, "Count")}
    # The oldest-queued-task alarm's metric: seconds since QUEUED_AT (the test's clock is later).
    from datetime import UTC, datetime

    age = published_maxima(cloudwatch, "Airflow/Celery", "OldestQueuedTaskAge")
    queued = datetime.fromisoformat(QUEUED_AT).replace(tzinfo=UTC)
    assert set(age) == {"default", "large", "idle"}
    assert age["large"] == (0.0, "Seconds") and age["idle"] == (0.0, "Seconds")
    assert age["default"][1] == "Seconds"
    assert abs(age["default"][0] - (datetime.now(UTC) - queued).total_seconds()) < 120


def test_migration_guard_refuses_a_database_a_newer_airflow_migrated_and_changes_nothing(tmp_path: Path):
    """The control script's first step: a database at a revision this Airflow does not know is refused."""
    import sqlite3

    from airflow import __version__

    database = tmp_path / "metadata.db"
    # A copy of the database the session migrated (sqlite's backup: the file alone may lack its journal).
    with sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as source, sqlite3.connect(database) as copy:
        source.backup(copy)
    env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{database}"}
    at_head = run_as_task_definition("migration_guard", env)
    assert at_head.returncode == 0, at_head.stderr

    with sqlite3.connect(database) as connection:  # as if a later Airflow had migrated it
        connection.execute("UPDATE alembic_version SET version_num = 'a0b1c2d3e4f5'")
    refused = run_as_task_definition("migration_guard", env)
    assert refused.returncode == 3
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: refusing to start Airflow {__version__}: the metadata database is at migration a0b1c2d3e4f5, "
        "which this Airflow does not know, so a newer Airflow migrated it. Run that newer version, or downgrade "
        f"the database with it first (airflow db downgrade --to-version {__version__}), or restore the snapshot "
        "taken before the upgrade. Nothing was changed."
    )
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("a0b1c2d3e4f5",)]
