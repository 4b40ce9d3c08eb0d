"""The Airflow Variables the Pulumi program publishes for the DAGs, and the one way DAGs read them.

Both layouts (Celery on ECS Fargate and Amazon MWAA) configure the secrets backend
``airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend`` with
``{"connections_prefix": "airflow/<env>/connections", "variables_prefix": "airflow/<env>/variables"}``,
so the Variable ``ml_training`` is the JSON string of the secret ``airflow/<env>/variables/ml_training``.

DAGs read a Variable at run time, in a task, with ``Variable.get(name, deserialize_json=True)``: never at
parse time (that would call Secrets Manager on every parse of the file) and never with a hard-coded ARN,
bucket or region. ``dags/README.md`` documents every key.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Variable

try:  # Airflow 3.1 and later: the Task SDK's (importing it from airflow.exceptions is deprecated)
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.0, which scripts/local/upgrade-test.sh starts before upgrading
    from airflow.exceptions import AirflowFailException

ML_TRAINING = "ml_training"
"""SageMaker training settings: role, image, buckets and prefixes, instances, spot, network."""

ML_TRAINING_KEYS = (
    "environment",
    "region",
    "role_arn",
    "image_uri",
    "bucket",
    "input_prefix",
    "output_prefix",
    "checkpoint_prefix",
    "batch_prefix",
    "job_name_prefix",
    "instance_type",
    "instance_count",
    "volume_size_gb",
    "max_runtime_seconds",
    "use_spot",
    "max_wait_seconds",
    "transform_instance_type",
    "vpc_config",
    "enable_network_isolation",
)

FARGATE_JOBS = "fargate_jobs"
"""Where one-off jobs run on ECS Fargate: cluster, task definition, network, capacity provider, logs."""

FARGATE_JOBS_KEYS = (
    "environment",
    "region",
    "cluster",
    "task_definition",
    "container_name",
    "subnet_ids",
    "security_group_ids",
    "capacity_provider",
    "log_group",
    "log_stream_prefix",
)


class VariableContractError(AirflowFailException):
    """A Variable does not match the contract. Retrying cannot help, so the task fails without retries."""


def read_variable(name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Read the JSON Variable ``name`` and check that it is an object with every key in ``keys``."""
    value = Variable.get(name, deserialize_json=True)
    if not isinstance(value, dict):
        raise VariableContractError(f"Airflow Variable {name!r} must be a JSON object, got {type(value).__name__}")
    missing = [key for key in keys if key not in value]
    if missing:
        raise VariableContractError(
            f"Airflow Variable {name!r} lacks the keys {', '.join(missing)} "
            f"(the Pulumi program publishes it as the secret airflow/<env>/variables/{name})"
        )
    return value


def require(condition: bool, name: str, message: str) -> None:
    """Fail the task, without retries, when a Variable's values do not make sense together."""
    if not condition:
        raise VariableContractError(f"Airflow Variable {name!r}: {message}")
