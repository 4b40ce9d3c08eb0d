"""Every file in dags/ parses in a DagBag the way the DAG processor parses it, and follows the conventions."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import DAGS

DAG_FILES = sorted(p for p in DAGS.glob("*.py"))
EXPECTED_DAGS = {"ml_training_pipeline", "fargate_parallel_tasks"}


def test_every_dag_file_loads_without_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert DAG_FILES, "no DAG files found"
    assert set(dagbag.dag_ids) == EXPECTED_DAGS
    loaded_from = {Path(dag.fileloc).name for dag in dagbag.dags.values()}
    assert loaded_from == {p.name for p in DAG_FILES}, "every file in dags/ defines a DAG"


def test_the_dag_processor_parses_the_dag_files_and_skips_the_helper_package():
    from airflow.utils.file import list_py_file_paths

    parsed = {Path(path).relative_to(DAGS).as_posix() for path in list_py_file_paths(str(DAGS))}
    assert parsed == {p.name for p in DAG_FILES}  # dags/.airflowignore leaves out airflow_on_aws/
    assert (DAGS / "airflow_on_aws" / "variables.py").is_file()


@pytest.mark.parametrize("dag_id", sorted(EXPECTED_DAGS))
def test_dag_follows_the_conventions(dagbag, dag_id):
    from airflow.configuration import conf

    dag = dagbag.get_dag(dag_id)
    # (the DagBag rejects a DAG with a cycle; sorting it again raises AirflowDagCycleException on one)
    assert len(dag.topological_sort()) == len(dag.tasks), "cycle"
    dag.validate()
    assert dag.tags, "tags"
    assert dag.doc_md and len(dag.doc_md) > 200, "doc_md"
    assert dag.catchup is False
    assert dag.max_active_runs is not None
    default_owner = conf.get("operators", "default_owner")
    for task in dag.tasks:
        where = f"{dag_id}.{task.task_id}"
        assert task.owner and task.owner != default_owner, f"{where}: owner"
        assert task.retries >= 1, f"{where}: retries"
        assert task.retry_exponential_backoff, f"{where}: exponential backoff"
        assert task.max_retry_delay is not None, f"{where}: max_retry_delay"
        assert task.execution_timeout is not None and task.execution_timeout <= timedelta(hours=12), where


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_every_dag_states_its_schedule(path):
    """Airflow 3 defaults to no schedule: the DAG constructor must say so (or give one) explicitly."""
    tree = ast.parse(path.read_text())
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) in {"DAG", "dag"}
    ]
    assert calls, f"{path.name} constructs no DAG"
    for call in calls:
        assert "schedule" in {kw.arg for kw in call.keywords}, f"{path.name}: DAG(...) without schedule="


def test_dag_files_read_no_variable_at_parse_time(monkeypatch):
    """Variables are read in tasks: a parse must not call Secrets Manager (it happens every 30 s)."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Variable

    def refuse(*args, **kwargs):
        raise AssertionError(f"Variable.get{args} at parse time")

    monkeypatch.setattr(Variable, "get", refuse)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED_DAGS


def test_deferrable_is_switched_by_the_operators_default_deferrable_setting(monkeypatch, dagbag):
    from airflow.dag_processing.dagbag import DagBag

    waits = {
        "ml_training_pipeline": ["train_model", "batch_transform"],
        "fargate_parallel_tasks": ["print_odd_numbers", "print_even_numbers"],
    }
    for dag_id, task_ids in waits.items():  # off by default: dag.test() and a run without a triggerer
        assert [dagbag.get_dag(dag_id).get_task(t).deferrable for t in task_ids] == [False] * len(task_ids)

    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    bag = DagBag(dag_folder=str(DAGS))
    for dag_id, task_ids in waits.items():
        assert [bag.get_dag(dag_id).get_task(t).deferrable for t in task_ids] == [True] * len(task_ids)


def test_dags_hard_code_no_account_bucket_or_region():
    """ARNs, buckets and regions come from the Variables, never from the DAG files."""
    import re

    forbidden = re.compile(
        r"arn:aws|s3://[a-z0-9]|\b(us|eu|ap|sa|ca|me|af)-(east|west|north|south|central|southeast|northeast)-\d\b"
    )
    for path in DAGS.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            assert not forbidden.search(line), f"{path.relative_to(DAGS)}:{number}: {line.strip()}"
