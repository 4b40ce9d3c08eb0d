"""Publishes each Celery queue's load to CloudWatch, for the worker pools' autoscaling.

Runs as the ``queue-metrics`` container of the control service, after the migrations (the program
passes this file's source to ``python -c``). Every QUEUE_METRICS_INTERVAL_SECONDS it counts the task
instances that are queued or running on each queue in Airflow's metadata database (the measure the
Airflow Helm chart scales workers on) and puts one datapoint per queue:
namespace QUEUE_METRICS_NAMESPACE, metric QUEUE_METRICS_NAME, dimensions Environment and Queue.
Queues without tasks report 0, so that idle pools can scale in to their minimum.
QUEUE_METRICS_STORAGE_RESOLUTION (60 or 1) makes the datapoints high-resolution, so that an alarm with
a 10-second period can scale a pool at zero out within seconds (lib/worker-scaling.ts).
"""

import logging
import os
import sys
import time

import boto3
from sqlalchemy import create_engine, text

log = logging.getLogger("queue-metrics")

QUERY = text("SELECT queue, count(*) FROM task_instance WHERE state IN ('queued', 'running') GROUP BY queue")


def queue_load(engine, queues: list) -> dict:
    """Queued + running task instances per queue, 0 for the queues without any."""
    load = {queue: 0 for queue in queues}
    with engine.connect() as conn:
        for queue, count in conn.execute(QUERY):
            if queue in load:
                load[queue] = int(count)
    return load


def publish(cloudwatch, namespace: str, metric: str, environment: str, load: dict, resolution: int = 60) -> None:
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "Environment", "Value": environment},
                    {"Name": "Queue", "Value": queue},
                ],
                "Value": float(count),
                "Unit": "Count",
                "StorageResolution": resolution,
            }
            for queue, count in sorted(load.items())
        ],
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    conn = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    queues = [q for q in os.environ["QUEUE_METRICS_QUEUES"].split(",") if q]
    environment = os.environ["QUEUE_METRICS_ENVIRONMENT"]
    namespace = os.environ.get("QUEUE_METRICS_NAMESPACE", "Airflow/Celery")
    metric = os.environ.get("QUEUE_METRICS_NAME", "QueuedAndRunningTasks")
    interval = int(os.environ.get("QUEUE_METRICS_INTERVAL_SECONDS", "60"))
    resolution = int(os.environ.get("QUEUE_METRICS_STORAGE_RESOLUTION", "60"))
    runs = int(os.environ.get("QUEUE_METRICS_RUNS", "0"))  # 0: forever (tests run a bounded number)
    engine = create_engine(conn, pool_pre_ping=True)
    cloudwatch = boto3.client("cloudwatch")
    done = 0
    while True:
        try:
            load = queue_load(engine, queues)
            publish(cloudwatch, namespace, metric, environment, load, resolution)
            log.info("published %s", load)
        except Exception:  # the alarms treat missing data as "no change"
            log.exception("could not publish the queue load")
        done += 1
        if runs and done >= runs:
            return 0
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
