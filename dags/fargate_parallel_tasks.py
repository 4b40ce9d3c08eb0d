"""
### Parallel jobs on ECS Fargate

Runs two one-off containers on ECS Fargate side by side, then joins them and finishes on the Airflow
worker itself:

1. **start** reads the Airflow Variable `fargate_jobs` (the secret `airflow/<env>/variables/fargate_jobs`)
   and prepares both launches: the job task definition on the job cluster, in the private subnets
   without a public IP, on the capacity provider the Variable names (`FARGATE` or `FARGATE_SPOT`).
2. **print_odd_numbers** and **print_even_numbers** run in parallel, each a task of the job task
   definition whose `job` container's command is overridden to print the odd (1, 3, 5, 7, 9) or the even
   (2, 4, 6, 8, 10) numbers of 1..10. Their output goes to the CloudWatch log group of the Variable,
   which the operator follows while it waits.
3. **join** waits for both and collects the ECS task ARNs.
4. **report_on_worker** runs on the Airflow worker (no container launched) and reports both jobs.

Retries reattach to a container an earlier try started instead of starting a second one. Waits are
deferrable (`[operators] default_deferrable`) where a triggerer runs. Not scheduled: it is the
template and smoke test for one-off jobs on Fargate, triggered on demand.
"""

from __future__ import annotations

import platform
import socket
from datetime import datetime, timedelta
from typing import Any

from airflow.configuration import conf
from airflow.providers.amazon.aws.operators.ecs import EcsRunTaskOperator
from airflow.sdk import DAG, task

from airflow_on_aws.variables import FARGATE_JOBS, FARGATE_JOBS_KEYS, read_variable, require

DAG_ID = "fargate_parallel_tasks"

# See ml_training_pipeline.py: deferrable where a triggerer runs, set with
# AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True.
DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=False)

CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
NUMBERS = range(1, 11)
ODD = [n for n in NUMBERS if n % 2 == 1]
EVEN = [n for n in NUMBERS if n % 2 == 0]
JOB_TIMEOUT = timedelta(minutes=30)


def print_command(numbers: list[int]) -> list[str]:
    """A container command that prints ``numbers`` one per line with nothing but ``sh``."""
    return ["sh", "-c", 'for n in "$@"; do echo "$n"; done', "print-numbers", *map(str, numbers)]


def launch_settings(jobs: dict[str, Any]) -> dict[str, Any]:
    """What both RunTask calls need, from the fargate_jobs Variable: private, Fargate, logged."""
    require(
        jobs["capacity_provider"] in CAPACITY_PROVIDERS,
        FARGATE_JOBS,
        f"capacity_provider must be one of {', '.join(CAPACITY_PROVIDERS)}, got {jobs['capacity_provider']!r}",
    )
    for key in ("subnet_ids", "security_group_ids"):
        require(isinstance(jobs[key], list) and len(jobs[key]) > 0, FARGATE_JOBS, f"{key} must be a non-empty list")

    def overrides(numbers: list[int]) -> dict[str, Any]:
        return {"containerOverrides": [{"name": jobs["container_name"], "command": print_command(numbers)}]}

    return {
        "region": jobs["region"],
        "cluster": jobs["cluster"],
        "task_definition": jobs["task_definition"],
        "container_name": jobs["container_name"],
        "capacity_provider_strategy": [{"capacityProvider": jobs["capacity_provider"], "weight": 1}],
        "network_configuration": {
            "awsvpcConfiguration": {
                "subnets": jobs["subnet_ids"],
                "securityGroups": jobs["security_group_ids"],
                "assignPublicIp": "DISABLED",  # private subnets; images and AWS APIs via NAT or endpoints
            }
        },
        "log_group": jobs["log_group"],
        "log_stream_prefix": jobs["log_stream_prefix"],
        "odd_overrides": overrides(ODD),
        "even_overrides": overrides(EVEN),
    }


class RegionalEcsRunTaskOperator(EcsRunTaskOperator):
    """``EcsRunTaskOperator`` whose ``region_name`` is templated too, so it can come from the Variable."""

    template_fields = (*EcsRunTaskOperator.template_fields, "region_name")


default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(minutes=5),
}

with DAG(
    dag_id=DAG_ID,
    description="Two parallel ECS Fargate jobs (odd and even numbers), a join, and a step on the worker",
    doc_md=__doc__,
    schedule=None,  # a template and smoke test for Fargate jobs: triggered on demand
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args=default_args,
    tags=["ecs", "fargate", "example"],
) as dag:

    @task(multiple_outputs=True)
    def start() -> dict[str, Any]:
        """Read the fargate_jobs Variable and prepare both launches."""
        return launch_settings(read_variable(FARGATE_JOBS, FARGATE_JOBS_KEYS))

    launch = start()

    def fargate_job(task_id: str, overrides: Any) -> RegionalEcsRunTaskOperator:
        return RegionalEcsRunTaskOperator(
            task_id=task_id,
            aws_conn_id=None,  # the worker's IAM role (ECS task role or MWAA execution role)
            region_name=launch["region"],
            cluster=launch["cluster"],
            task_definition=launch["task_definition"],
            container_name=launch["container_name"],
            overrides=overrides,
            capacity_provider_strategy=launch["capacity_provider_strategy"],
            network_configuration=launch["network_configuration"],
            awslogs_group=launch["log_group"],
            awslogs_region=launch["region"],
            awslogs_stream_prefix=launch["log_stream_prefix"],
            awslogs_fetch_interval=timedelta(seconds=10),
            reattach=True,  # a retry follows the container an earlier try started
            do_xcom_push=True,  # XCom ecs_task_arn
            deferrable=DEFERRABLE,
            waiter_delay=10,
            waiter_max_attempts=int(JOB_TIMEOUT.total_seconds() // 10),
            execution_timeout=JOB_TIMEOUT,
        )

    odd = fargate_job("print_odd_numbers", launch["odd_overrides"])
    even = fargate_job("print_even_numbers", launch["even_overrides"])

    @task(multiple_outputs=False)
    def join(**context: Any) -> dict[str, str]:
        """Both jobs have succeeded: collect their ECS task ARNs."""
        ti = context["ti"]
        arns = {
            "odd": ti.xcom_pull(task_ids="print_odd_numbers", key="ecs_task_arn"),
            "even": ti.xcom_pull(task_ids="print_even_numbers", key="ecs_task_arn"),
        }
        print(f"Both Fargate jobs succeeded: {arns}")
        return arns

    @task(multiple_outputs=False)
    def report_on_worker(arns: dict[str, str]) -> dict[str, Any]:
        """Runs on the Airflow worker itself, not in a Fargate job container."""
        report = {
            "worker": socket.gethostname(),
            "python": platform.python_version(),
            "odd_job": arns["odd"],
            "even_job": arns["even"],
            "numbers": sorted(ODD + EVEN),
        }
        print(f"Ran on the Airflow worker {report['worker']} (Python {report['python']}): {report}")
        return report

    joined = join()
    [odd, even] >> joined
    report_on_worker(joined)
