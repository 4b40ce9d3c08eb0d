"""One Apache Airflow version everywhere: the stacks, the Python lock, the DAGs' requirements, the image."""

from __future__ import annotations

import re
from importlib.metadata import version

import pytest
import yaml

from conftest import ROOT

STACKS = ("dev", "staging", "prod")


def mwaa_python() -> dict[str, str]:
    """MWAA's table of versions in config/versions.ts: Airflow version -> the Python MWAA runs it on."""
    source = (ROOT / "config" / "versions.ts").read_text()
    table = source[source.index("export const MWAA_AIRFLOW_VERSIONS") :]
    table = table[: table.index("] as const;")]
    pairs = dict(re.findall(r'\{ airflow: "([0-9.]+)", python: "(3\.[0-9]+)" \}', table))
    assert pairs, "no version in MWAA_AIRFLOW_VERSIONS"
    return pairs


MWAA_PYTHON = mwaa_python()
CONSTRAINT = re.compile(
    r'^--constraint\s+"?https://raw\.githubusercontent\.com/apache/airflow/'
    r'constraints-(?P<airflow>[0-9.]+)/constraints-(?P<python>3\.[0-9]+)\.txt"?$'
)


def stack_version(stack: str) -> str:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return str(config["airflow:airflowVersion"])


def locked(package: str) -> str:
    pins = re.findall(rf"^{re.escape(package)}==([^\s;\\]+)", (ROOT / "requirements-dev.lock").read_text(), re.M)
    assert len(pins) == 1, f"{package} pinned {len(pins)} times in requirements-dev.lock"
    return pins[0]


def requirement_lines() -> list[str]:
    lines = (ROOT / "dags" / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.mark.parametrize("stack", STACKS)
def test_the_lock_pins_the_airflow_version_of_every_stack(stack):
    assert locked("apache-airflow") == stack_version(stack)


def test_every_stack_runs_the_default_version_the_newest_airflow_3_that_mwaa_runs():
    source = (ROOT / "config" / "versions.ts").read_text()
    default = re.search(r'DEFAULT_AIRFLOW_VERSION: MwaaAirflowVersion = "([0-9.]+)"', source)
    assert default, "config/versions.ts must define DEFAULT_AIRFLOW_VERSION"
    newest = max((v for v in MWAA_PYTHON if v.startswith("3.")), key=lambda v: tuple(map(int, v.split("."))))
    assert default[1] == newest
    assert {stack_version(stack) for stack in STACKS} == {newest}


def test_the_tests_run_the_locked_airflow():
    assert version("apache-airflow") == locked("apache-airflow")
    for provider in ("amazon", "celery", "postgres"):
        name = f"apache-airflow-providers-{provider}"
        assert version(name) == locked(name)


def test_the_dag_requirements_constrain_to_the_stacks_airflow_on_mwaas_python():
    constraints = [CONSTRAINT.match(line) for line in requirement_lines() if line.startswith("--constraint")]
    assert len(constraints) == 1 and constraints[0], "exactly one --constraint line with Airflow's URL"
    airflow = {stack_version(stack) for stack in STACKS}
    assert len(airflow) == 1
    assert constraints[0]["airflow"] == airflow.pop()
    assert constraints[0]["python"] == MWAA_PYTHON[constraints[0]["airflow"]]


def test_the_dag_requirements_are_installed_in_the_test_environment():
    packages = [re.split(r"[<>=!~\[; ]", line)[0] for line in requirement_lines() if not line.startswith("-")]
    assert packages, "no requirement"
    for package in packages:
        assert version(package), package


def test_the_image_builds_the_stacks_airflow_on_mwaas_python():
    dockerfile = (ROOT / "images" / "airflow" / "Dockerfile").read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)$", dockerfile, re.M))
    assert args["AIRFLOW_VERSION"] == stack_version("prod")
    assert args["PYTHON_VERSION"] == MWAA_PYTHON[args["AIRFLOW_VERSION"]]
    assert re.search(r"^FROM apache/airflow:\$\{AIRFLOW_VERSION\}-python\$\{PYTHON_VERSION\}$", dockerfile, re.M)


def test_the_program_accepts_no_training_job_longer_than_the_dag_can_follow():
    """config/ml.ts rejects a max runtime or max wait the train_model task's timeout cannot cover."""
    from ml_training_pipeline import TRAINING_TIMEOUT

    source = (ROOT / "config" / "ml.ts").read_text()
    match = re.search(r"DAG_TRAINING_LIMIT_SECONDS = 12 \* 3600 - 15 \* 60;", source)
    assert match, "config/ml.ts must define DAG_TRAINING_LIMIT_SECONDS as 12 * 3600 - 15 * 60"
    assert TRAINING_TIMEOUT.total_seconds() == 12 * 3600
