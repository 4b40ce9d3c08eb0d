"""Both DAGs with deferrable waits (``[operators] default_deferrable = True``, as where a triggerer runs).

``dag.test()`` runs a deferred task's trigger in line, the way the triggerer would run it, then resumes
the task. The triggers talk to AWS with aiobotocore, so AWS here is moto's server on 127.0.0.1.
"""

from __future__ import annotations

import pytest

import moto_sagemaker
import test_fargate_parallel_tasks as fargate_test
import test_ml_training_pipeline as ml_test
from conftest import DAGS, run_dag, xcom
from moto_fargate import FargateEmulator


@pytest.fixture
def deferrable_dagbag(monkeypatch: pytest.MonkeyPatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def triggers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    """Every trigger dag.test() runs in line (in place of the triggerer), with the event it fired."""
    import airflow.sdk.definitions.dag as dag_module

    fired: list[tuple[str, dict]] = []
    run_inline = dag_module._run_inline_trigger

    def record(trigger, *args):  # Airflow 3.3 also passes the task instance
        event = run_inline(trigger, *args)
        fired.append((type(trigger).__name__, event.payload if event else {}))
        return event

    monkeypatch.setattr(dag_module, "_run_inline_trigger", record)
    return fired


def test_ml_training_pipeline_defers_its_waits_to_the_trigger(
    moto_server, deferrable_dagbag, fast, monkeypatch, triggers
):
    moto_sagemaker.install(monkeypatch, polls=2)
    ml_test.ml_training(moto_server)
    dag = fast(deferrable_dagbag.get_dag("ml_training_pipeline"))
    assert dag.get_task("train_model").deferrable and dag.get_task("batch_transform").deferrable

    run = run_dag(dag)

    name = xcom(run, "record_model", key="training_job_name")
    sagemaker = moto_server.client("sagemaker")
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Completed"
    assert sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"] == "Completed"
    # Both waits were handed to a trigger, which saw each job complete.
    assert [(kind, event["status"], event["job_name"]) for kind, event in triggers] == [
        ("SageMakerTrigger", "success", name),
        ("SageMakerTrigger", "success", name),
    ]


def test_fargate_parallel_tasks_defers_its_waits_to_the_trigger(
    moto_server, deferrable_dagbag, fast, monkeypatch, triggers
):
    emulator = FargateEmulator().install(monkeypatch)
    fargate_test.fargate_jobs(moto_server, capacity_provider="FARGATE")
    dag = fast(deferrable_dagbag.get_dag("fargate_parallel_tasks"))
    assert dag.get_task("print_odd_numbers").deferrable

    run = run_dag(dag)

    assert len(emulator.run_task_requests) == 2
    arns = {xcom(run, job, key="ecs_task_arn") for job in ("print_odd_numbers", "print_even_numbers")}
    assert sorted(kind for kind, _ in triggers) == ["TaskDoneTrigger", "TaskDoneTrigger"]
    assert {event["task_arn"] for _, event in triggers} == arns
    assert {event["status"] for _, event in triggers} == {"success"}
    assert str(xcom(run, "print_odd_numbers")) == "9"  # execute_complete read the last log line
    assert str(xcom(run, "print_even_numbers")) == "10"
