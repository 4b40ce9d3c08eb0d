"""Publishes each Celery queue's load to CloudWatch, for the worker pools' autoscaling.

Runs as the ``queue-metrics`` container of the control service, after the migrations (the program
passes this file's source to ``python -c``). Every QUEUE_METRICS_INTERVAL_SECONDS it counts the task
instances that are queued or running on each queue in Airflow's metadata database (the measure the
Airflow Helm chart scales workers on) and puts one datapoint per queue:
namespace QUEUE_METRICS_NAMESPACE, metric QUEUE_METRICS_NAME, dimensions Environment and Queue.
Queues without tasks report 0, so that idle pools can scale in to their minimum.

Beside it, QUEUE_METRICS_AGE_NAME (same namespace and dimensions): the age in seconds of each queue's
oldest queued task, from the time the scheduler queued it (``task_instance.queued_dttm``), 0 for a
queue with none. The oldest-queued-task alarm reads it on both brokers. It does not read the broker:
a Celery message carries no enqueue time (kombu's Redis transport LPUSHes the bare message, whose
headers hold the task id and an ETA only for delayed tasks), and SQS's ApproximateAgeOfOldestMessage
is the age of the oldest non-deleted message, which with Airflow's ``task_acks_late`` includes the
messages of tasks that are running, not waiting. A task instance stays queued from the moment the
scheduler sends it until a worker starts it, whatever the broker; the scheduler's own timeout
(``[scheduler] task_queued_timeout``) fails it later than this alarm fires.
QUEUE_METRICS_STORAGE_RESOLUTION (60 or 1) makes the datapoints high-resolution, so that an alarm with
a 10-second period can scale a pool at zero out within seconds (lib/worker-scaling.ts).
"""

import logging
import os
import sys
import time
from datetime import UTC, datetime

import boto3
from sqlalchemy import create_engine, text

log = logging.getLogger("queue-metrics")

QUERY = text("SELECT queue, count(*) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY queue")
OLDEST = text("SELECT queue, min(queued_dttm) FROM task_instance WHERE state = 'queued' GROUP BY queue")


def queue_load(engine, queues: list) -> dict:
    """Queued + running task instances per queue, 0 for the queues without any."""
    load = {queue: 0 for queue in queues}
    with engine.connect() as conn:
        for queue, count in conn.execute(QUERY):
            if queue in load:
                load[queue] = int(count)
    return load


def _utc(value) -> datetime:
    """A queued_dttm as the driver returns it: an aware datetime (PostgreSQL), or text (SQLite)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def oldest_queued_age(engine, queues: list, now: datetime) -> dict:
    """Seconds since the oldest task instance still queued on each queue was queued; 0 for none."""
    age = {queue: 0.0 for queue in queues}
    with engine.connect() as conn:
        for queue, queued in conn.execute(OLDEST):
            if queue in age and queued is not None:
                age[queue] = max(0.0, (now - _utc(queued)).total_seconds())
    return age


def _datum(name: str, environment: str, queue: str, value: float, unit: str, resolution: int) -> dict:
    return {
        "MetricName": name,
        "Dimensions": [
            {"Name": "Environment", "Value": environment},
            {"Name": "Queue", "Value": queue},
        ],
        "Value": float(value),
        "Unit": unit,
        "StorageResolution": resolution,
    }


def publish(
    cloudwatch,
    namespace: str,
    metric: str,
    environment: str,
    load: dict,
    resolution: int = 60,
    age_metric: str = "",
    age: dict | None = None,
) -> None:
    data = [_datum(metric, environment, q, n, "Count", resolution) for q, n in sorted(load.items())]
    if age_metric and age is not None:
        # Standard resolution: the alarm reads 5-minute maxima.
        data += [_datum(age_metric, environment, q, s, "Seconds", 60) for q, s in sorted(age.items())]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    conn = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    queues = [q for q in os.environ["QUEUE_METRICS_QUEUES"].split(",") if q]
    environment = os.environ["QUEUE_METRICS_ENVIRONMENT"]
    namespace = os.environ.get("QUEUE_METRICS_NAMESPACE", "Airflow/Celery")
    metric = os.environ.get("QUEUE_METRICS_NAME", "QueuedAndRunningTasks")
    age_metric = os.environ.get("QUEUE_METRICS_AGE_NAME", "")
    interval = int(os.environ.get("QUEUE_METRICS_INTERVAL_SECONDS", "60"))
    resolution = int(os.environ.get("QUEUE_METRICS_STORAGE_RESOLUTION", "60"))
    runs = int(os.environ.get("QUEUE_METRICS_RUNS", "0"))  # 0: forever (tests run a bounded number)
    engine = create_engine(conn, pool_pre_ping=True)
    cloudwatch = boto3.client("cloudwatch")
    done = 0
    while True:
        try:
            load = queue_load(engine, queues)
            age = oldest_queued_age(engine, queues, datetime.now(UTC)) if age_metric else None
            publish(cloudwatch, namespace, metric, environment, load, resolution, age_metric, age)
            log.info("published %s, oldest queued (s) %s", load, age)
        except Exception:  # the alarms treat missing data as "no change"
            log.exception("could not publish the queue load")
        done += 1
        if runs and done >= runs:
            return 0
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
