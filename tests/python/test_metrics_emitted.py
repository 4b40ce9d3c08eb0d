"""Every Airflow metric the dashboard or an alarm reads is one the pinned Airflow really emits.

The list comes from the TypeScript definitions (components/observability/catalog.ts, written to
metric_catalog.json by ``npm run docs``; a mocha test keeps the file fresh): each entry is a CloudWatch
metric of MWAA's AmazonMWAA namespace with the StatsD rule the Celery layout's collector applies. This
test turns StatsD on (the settings lib/airflow-env.ts gives every component), listens on a UDP port
on 127.0.0.1 as the collector does, and drives the real Airflow through the code paths that emit the
metrics on a deployment:

- the DAG processor parses the DAG files once (``DagFileProcessorManager``, as ``airflow dag-processor``);
- a DAG whose task fails runs with ``dag.test()``, which ends the DAG run through ``DagRun.update_state``;
- a DAG whose task fails once and is retried runs with ``dag.test()``: the task runner counts the first try
  as finished ``up_for_retry`` and the second as ``success``;
- the scheduler's own loop runs a few iterations (``SchedulerJobRunner._execute``, as ``airflow scheduler``);
- the scheduler handles an executor's report that a queued task failed (a worker that vanished), as its
  loop does with every executor event.

Then every rule must match at least one metric Airflow sent, under that name. A rule with a misspelt
StatsD name, or a metric that an Airflow upgrade renamed or dropped, fails here.

Since Airflow 3.2 a metric has a name without variables (its pool, DAG or executor go in tags, which plain
StatsD drops) and, with ``[metrics] legacy_names_on``, also its legacy name with them
(``pool.open_slots.default_pool``): the rules that take a dimension from the name read the legacy one,
so the settings below turn legacy names on, as lib/airflow-env.ts does.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CATALOG_FILE = Path(__file__).with_name("metric_catalog.json")


class StatsdListener:
    """A StatsD server on 127.0.0.1: records every metric name it receives (``name:value|type``)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.names: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                continue
            for line in data.decode("utf-8", "replace").splitlines():
                if ":" in line:
                    self.names.add(line.split(":", 1)[0])

    def drain(self) -> set[str]:
        """The names received so far, once the packets in flight have arrived."""
        import time

        time.sleep(0.5)
        return set(self.names)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


def pick_metrics_backends() -> None:
    """What every Airflow 3.3 component does as it starts (the scheduler, the DAG processor, an executor,
    the task runner): pick its metrics backend from the [metrics] settings. Airflow core and the Task
    SDK each keep their own (airflow.observability.stats, airflow.sdk.observability.stats)."""
    from airflow.configuration import conf
    from airflow.observability import stats
    from airflow.observability.metrics import stats_utils
    from airflow.sdk.configuration import conf as task_conf
    from airflow.sdk.observability import stats as task_stats
    from airflow.sdk.observability.metrics import stats_utils as task_stats_utils

    stats.initialize(
        factory=stats_utils.get_stats_factory(),
        export_legacy_names=conf.getboolean("metrics", "legacy_names_on"),
    )
    task_stats.initialize(
        factory=task_stats_utils.get_stats_factory(),
        export_legacy_names=task_conf.getboolean("metrics", "legacy_names_on"),
    )


@pytest.fixture
def statsd():
    """Airflow with StatsD on, sending to a listener: the settings a deployed component has
    (lib/airflow-env.ts). The test session started with metrics off; the components this test runs pick
    their backend again as they start, and so does the fixture, for the code that runs outside them
    (dag.test()). Afterwards metrics are off again, as the rest of the session expects."""
    listener = StatsdListener()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(listener.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": json.loads(CATALOG_FILE.read_text())["statsdPrefix"],
            "AIRFLOW__METRICS__LEGACY_NAMES_ON": "True",
        }.items():
            patch.setenv(name, value)
        pick_metrics_backends()
        try:
            yield listener
        finally:
            listener.close()
    pick_metrics_backends()


def failing_dag() -> Any:
    from airflow.sdk import DAG, task

    with DAG("metrics_failing_dag", schedule=None, start_date=datetime(2025, 1, 1, tzinfo=UTC)) as dag:

        @task(retries=0)
        def fail() -> None:
            raise RuntimeError("this task fails on purpose")

        fail()
    return dag


def retried_dag() -> Any:
    """A task that fails on its first try and succeeds on its retry (no delay, so dag.test() runs it at once)."""
    from airflow.sdk import DAG, task

    with DAG("metrics_retried_dag", schedule=None, start_date=datetime(2025, 1, 1, tzinfo=UTC)) as dag:

        @task(retries=1, retry_delay=timedelta(0))
        def flaky(ti: Any = None) -> None:
            if ti.try_number == 1:
                raise RuntimeError("this try fails on purpose; the retry succeeds")

        flaky()
    return dag


def deploy(dag: Any) -> Any:
    """Store the DAG as the DAG processor does (DAG row, serialized version, in the dags-folder bundle),
    so that dag.test() and the scheduler find it."""
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session

    with create_session() as session:
        update_dag_parsing_results_in_db(
            "dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session=session
        )
    return dag


def run_dag_processor() -> None:
    from airflow.dag_processing.manager import DagFileProcessorManager

    DagFileProcessorManager(max_runs=1).run()


def run_scheduler_loop(loops: int) -> None:
    from airflow.jobs.job import Job, run_job
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner

    runner = SchedulerJobRunner(job=Job(), num_runs=loops)
    run_job(job=runner.job, execute_callable=runner._execute)


def scheduler_handles_a_lost_task(dag_run: Any) -> None:
    """The failed run's task is queued again, then its executor reports it failed while the database
    still says queued (the worker died): the scheduler fails it through TaskInstance.handle_failure."""
    from airflow.executors.executor_loader import ExecutorLoader
    from airflow.jobs.scheduler_job_runner import SchedulerJobRunner
    from airflow.models.dagbag import DBDagBag
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).one()
        ti.state = TaskInstanceState.QUEUED
        key = ti.key
    executor = ExecutorLoader.get_default_executor()
    executor.event_buffer[key] = (TaskInstanceState.FAILED, None)
    with create_session() as session:
        SchedulerJobRunner.process_executor_events(
            executor=executor, job_id=None, scheduler_dag_bag=DBDagBag(), session=session
        )


def retried_run(dag_run: Any) -> None:
    """The retried DAG really retried: its one task succeeded on its second try."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    with create_session() as session:
        ti = session.query(TaskInstance).filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id).one()
        assert (ti.state, ti.try_number) == ("success", 2), (ti.state, ti.try_number)


def emitted_by_airflow(listener: StatsdListener) -> set[str]:
    import time

    steps = {
        "DAG processor": run_dag_processor,
        "failing DAG run": lambda: steps.update(run=deploy(failing_dag()).test()),
        "retried DAG run": lambda: retried_run(deploy(retried_dag()).test()),
        "scheduler loop": lambda: run_scheduler_loop(loops=8),
        "lost task": lambda: scheduler_handles_a_lost_task(steps["run"]),
    }
    for name in ["DAG processor", "failing DAG run", "retried DAG run", "scheduler loop", "lost task"]:
        start = time.monotonic()
        steps[name]()
        print(f"{name}: {time.monotonic() - start:.1f} s")
    return listener.drain()


def test_every_airflow_metric_the_dashboard_and_alarms_read_is_emitted_by_the_pinned_airflow(statsd):
    catalog = json.loads(CATALOG_FILE.read_text())
    assert catalog["airflow"], "the catalog lists no Airflow metric"
    emitted = emitted_by_airflow(statsd)
    missing = []
    for metric in catalog["airflow"]:
        rule = re.compile(metric["statsd"])
        matches = [m for name in sorted(emitted) if (m := rule.match(name))]
        if not matches:
            missing.append(f"{metric['name']} (StatsD {metric['statsd']})")
            continue
        print(f"{metric['name']}: {', '.join(m.string for m in matches)}")
        groups = set(rule.groupindex)
        assert groups <= set(metric["dimensions"]), metric
        assert all(all(m.group(g) for g in groups) for m in matches), metric
    assert not missing, (
        "Airflow emitted no metric these rules map (components/observability/metrics.ts): "
        + "; ".join(missing)
        + f". It emitted: {sorted(emitted)}"
    )
