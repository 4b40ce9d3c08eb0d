"""Test environment for the DAGs: the real Apache Airflow, AWS served in-process by moto.

Airflow reads its configuration when it is first imported, so this module sets it up before anything
imports Airflow: a temporary AIRFLOW_HOME with a SQLite metadata database, the repository's dags/ as
the DAGs folder, and the same Secrets Manager backend both layouts configure, with the prefixes of an
environment called ``test``. AWS credentials are fake and every AWS call goes to moto: in-process
(``mock_aws``), or moto's server on 127.0.0.1 for the deferrable tests (``moto_server``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DAGS = ROOT / "dags"
ENVIRONMENT = "test"
REGION = "us-east-1"
VARIABLES_PREFIX = f"airflow/{ENVIRONMENT}/variables"
CONNECTIONS_PREFIX = f"airflow/{ENVIRONMENT}/connections"

# Nothing from the developer's shell may leak in: no Airflow settings, no AWS profile or credentials.
for _name in list(os.environ):
    if _name.startswith(("AIRFLOW_", "AIRFLOW__", "AWS_")):
        del os.environ[_name]

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__DATABASE__LOAD_DEFAULT_CONNECTIONS": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(AIRFLOW_HOME / "logs"),
        # What both layouts configure (the Pulumi program sets the same two settings).
        "AIRFLOW__SECRETS__BACKEND": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {"connections_prefix": CONNECTIONS_PREFIX, "variables_prefix": VARIABLES_PREFIX}
        ),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
)

# The DAG processor and the task runner put the DAGs folder (the bundle root) on sys.path; so do we,
# and the DAG files import their helper package airflow_on_aws from there.
sys.path.append(str(DAGS))

# moto registers its hook into botocore when imported: import it before any AWS client is created.
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402


def _parse_aws_models_once() -> None:
    """Every Airflow AWS hook opens its own boto3 session, and every new session parses the AWS service
    models again (megabytes of JSON: a third of a DAG run's time here). The files never change during
    a test session, so parse each one once. Speed only: the models themselves are untouched."""
    from botocore.loaders import JSONFileLoader

    parse = JSONFileLoader.load_file
    parsed: dict[str, Any] = {}

    def load_file(self: JSONFileLoader, file_path: str) -> Any:
        if file_path not in parsed:
            parsed[file_path] = parse(self, file_path)
        return parsed[file_path]

    JSONFileLoader.load_file = load_file  # type: ignore[method-assign]


_parse_aws_models_once()


@pytest.fixture(scope="session", autouse=True)
def metadata_database() -> None:
    """Create the metadata database once (what `airflow db migrate` does), inside the timed session."""
    from airflow.utils import db

    db.upgradedb()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def one_execution_api_server() -> Iterator[None]:
    """Airflow 3's dag.test() builds a new in-process Execution API app for every task it runs
    (with a new event-loop thread, and Cadwyn generating every versioned route again: about a second
    each). Build it once for the session and let every task talk to it, as every task of a deployment
    talks to the one API server. dag.test() still points the app at the DAG under test before each task.
    """
    from airflow.sdk.execution_time import supervisor

    api = supervisor.in_process_api_server()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(supervisor, "in_process_api_server", lambda: api)
        yield


@pytest.fixture(scope="session")
def dagbag() -> Any:
    """Every DAG file in dags/, parsed once, as the DAG processor parses them."""
    from airflow.dag_processing.dagbag import DagBag

    # Airflow 3.3 dropped include_examples from DagBag: examples come only from the example bundle,
    # which core.load_examples (False in AIRFLOW_HOME's settings here) leaves out.
    return DagBag(dag_folder=str(DAGS))


@pytest.fixture
def aws() -> Iterator[boto3.Session]:
    """An empty AWS account in moto, for the length of one test."""
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.Session]:
    """An empty AWS account in moto served over HTTP on 127.0.0.1, for the length of one test.

    For what ``mock_aws`` cannot reach: the triggers of deferred tasks use aiobotocore, whose requests
    do not go through botocore's hooks. Every client (boto3 and aiobotocore) finds the server through
    AWS_ENDPOINT_URL.
    """
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield boto3.Session(region_name=REGION)
    finally:
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()


def put_variable(aws: boto3.Session, name: str, value: Any) -> str:
    """Publish an Airflow Variable as the Pulumi program does: a JSON secret under the variables prefix."""
    secret = f"{VARIABLES_PREFIX}/{name}"
    aws.client("secretsmanager").create_secret(Name=secret, SecretString=json.dumps(value))
    return secret


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], Any]:
    """Shrink a DAG's waits for a test run: how long it sleeps between polls and retries, nothing else."""

    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook

    # While it tails a training job's logs, the hook describes the job at most every 30 s (a constant
    # in the provider): the same wait, made zero by saying the last describe was long ago.
    tail = SageMakerHook.describe_training_job_with_log

    def describe_without_waiting(self: SageMakerHook, *args: Any) -> Any:
        *rest, _last_describe_job_call = args
        return tail(self, *rest, float("-inf"))

    monkeypatch.setattr(SageMakerHook, "describe_training_job_with_log", describe_without_waiting)

    def apply(dag: Any) -> Any:
        for task in dag.tasks:
            monkeypatch.setattr(task, "retry_delay", timedelta(0))
            for attribute, value in (
                ("check_interval", 0),  # SageMaker operators: seconds between DescribeXJob calls
                ("waiter_delay", 0),  # ECS operator: seconds between DescribeTasks calls
                ("awslogs_fetch_interval", timedelta(milliseconds=20)),  # ECS operator: log polling
            ):
                if hasattr(task, attribute):
                    monkeypatch.setattr(task, attribute, value)
        return dag

    return apply


def run_dag(dag: Any, **kwargs: Any) -> Any:
    """Run one DagRun in-process with ``dag.test()`` and check that every task succeeded."""
    run = dag.test(**kwargs)
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", f"DAG run {run.state}: {states}"
    assert set(states) == set(dag.task_ids)
    assert set(states.values()) == {"success"}, states
    return run


def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
    """An XCom a task of ``run`` pushed."""
    return run.get_task_instance(task_id).xcom_pull(task_ids=task_id, key=key)
