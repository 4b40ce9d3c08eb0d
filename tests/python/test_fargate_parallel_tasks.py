"""fargate_parallel_tasks, run end to end by the real Airflow against ECS, EC2 and CloudWatch Logs in moto."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest

from conftest import REGION, put_variable, run_dag, xcom
from moto_fargate import FargateEmulator

DAG_ID = "fargate_parallel_tasks"
CLUSTER = "airflow-test-jobs"
FAMILY = "airflow-test-job"
LOG_GROUP = "/airflow/test/jobs"
STREAM_PREFIX = "jobs"


@pytest.fixture
def fargate(monkeypatch: pytest.MonkeyPatch) -> FargateEmulator:
    return FargateEmulator().install(monkeypatch)


def fargate_jobs(aws: boto3.Session, capacity_provider: str = "FARGATE_SPOT") -> dict[str, Any]:
    """The job cluster, task definition and network the Pulumi program creates, and its fargate_jobs Variable."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as AirflowNetwork's VPC
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i * 32}.0/19", AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName="jobs", Description="Fargate jobs", VpcId=vpc)["GroupId"]
    ecs = aws.client("ecs")
    cluster = ecs.create_cluster(clusterName=CLUSTER, capacityProviders=["FARGATE", "FARGATE_SPOT"])["cluster"]
    aws.client("logs").create_log_group(logGroupName=LOG_GROUP)
    definition = ecs.register_task_definition(
        family=FAMILY,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "job",
                "image": "public.ecr.aws/docker/library/busybox:stable",
                "essential": True,
                "command": ["sh", "-c", "echo 'no command override given'; exit 3"],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": LOG_GROUP,
                        "awslogs-region": REGION,
                        "awslogs-stream-prefix": STREAM_PREFIX,
                    },
                },
            }
        ],
    )["taskDefinition"]
    variable = {
        "environment": "test",
        "region": REGION,
        "cluster": cluster["clusterArn"],
        "task_definition": definition["family"],
        "container_name": "job",
        "subnet_ids": subnets,
        "security_group_ids": [group],
        "capacity_provider": capacity_provider,
        "log_group": LOG_GROUP,
        "log_stream_prefix": STREAM_PREFIX,
    }
    put_variable(aws, "fargate_jobs", variable)
    return variable


def numbers_in(command: list[str]) -> list[int]:
    return [int(word) for word in command if re.fullmatch(r"\d+", word)]


def test_runs_odd_and_even_numbers_as_two_parallel_fargate_tasks(aws, dagbag, fast, fargate):
    variable = fargate_jobs(aws)
    dag = fast(dagbag.get_dag(DAG_ID))

    # The shape: start fans out to the two Fargate tasks, which join before the step on the worker.
    assert dag.get_task("start").downstream_task_ids == {"print_odd_numbers", "print_even_numbers"}
    for job in ("print_odd_numbers", "print_even_numbers"):
        assert dag.get_task(job).downstream_task_ids == {"join"}
    assert dag.get_task("join").downstream_task_ids == {"report_on_worker"}

    run = run_dag(dag)

    # Two RunTask requests reached ECS: the job task definition on the job cluster, on the capacity
    # provider of the Variable, in the private subnets without a public IP, one command each.
    requests = {
        tuple(numbers_in(r["overrides"]["containerOverrides"][0]["command"])): r for r in fargate.run_task_requests
    }
    assert set(requests) == {(1, 3, 5, 7, 9), (2, 4, 6, 8, 10)}
    for request in requests.values():
        assert request["cluster"] == variable["cluster"]
        assert request["taskDefinition"] == FAMILY
        assert request["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        assert "launchType" not in request  # a capacity provider strategy, not a launch type
        assert request["networkConfiguration"] == {
            "awsvpcConfiguration": {
                "subnets": variable["subnet_ids"],
                "securityGroups": variable["security_group_ids"],
                "assignPublicIp": "DISABLED",
            }
        }
        [override] = request["overrides"]["containerOverrides"]
        assert override["name"] == "job"
        assert override["command"][0] == "sh"

    # ECS (moto) ran them as Fargate tasks of that definition, and each printed its numbers.
    ecs = aws.client("ecs")
    arns = ecs.list_tasks(cluster=CLUSTER)["taskArns"]
    tasks = ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]
    assert len(tasks) == 2
    for task in tasks:
        assert task["launchType"] == "FARGATE"
        assert task["lastStatus"] == "STOPPED"
        assert task["taskDefinitionArn"].split("/")[-1].startswith(f"{FAMILY}:")
    assert sorted(fargate.outputs.values()) == [["1", "3", "5", "7", "9"], ["2", "4", "6", "8", "10"]]

    # The operators followed the jobs' CloudWatch logs and pushed the last line and the task ARN.
    odd_arn = xcom(run, "print_odd_numbers", key="ecs_task_arn")
    even_arn = xcom(run, "print_even_numbers", key="ecs_task_arn")
    assert {odd_arn, even_arn} == set(arns)
    assert fargate.outputs[odd_arn] == ["1", "3", "5", "7", "9"]
    assert fargate.outputs[even_arn] == ["2", "4", "6", "8", "10"]
    # (the last log line, "9": Airflow 3.0.6's XCom round trip turns a numeric string into a number)
    assert str(xcom(run, "print_odd_numbers")) == "9"
    assert str(xcom(run, "print_even_numbers")) == "10"
    stream = f"{STREAM_PREFIX}/job/{odd_arn.split('/')[-1]}"
    events = aws.client("logs").get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
    assert [e["message"] for e in events] == ["1", "3", "5", "7", "9"]

    # join collected both ARNs; the last step ran on the worker (this process), not in a container.
    assert xcom(run, "join") == {"odd": odd_arn, "even": even_arn}
    report = xcom(run, "report_on_worker")
    assert report["odd_job"] == odd_arn and report["even_job"] == even_arn
    assert report["numbers"] == list(range(1, 11))


JOBS = {
    "environment": "test",
    "region": REGION,
    "cluster": CLUSTER,
    "task_definition": FAMILY,
    "container_name": "job",
    "subnet_ids": ["subnet-1", "subnet-2"],
    "security_group_ids": ["sg-1"],
    "capacity_provider": "FARGATE",
    "log_group": LOG_GROUP,
    "log_stream_prefix": STREAM_PREFIX,
}


def test_on_demand_fargate_launch_settings():
    from fargate_parallel_tasks import launch_settings

    launch = launch_settings(JOBS)
    assert launch["capacity_provider_strategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert launch["network_configuration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert numbers_in(launch["odd_overrides"]["containerOverrides"][0]["command"]) == [1, 3, 5, 7, 9]
    assert numbers_in(launch["even_overrides"]["containerOverrides"][0]["command"]) == [2, 4, 6, 8, 10]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"capacity_provider": "EC2"}, "capacity_provider must be one of FARGATE, FARGATE_SPOT"),
        ({"subnet_ids": []}, "subnet_ids must be a non-empty list"),
        ({"security_group_ids": "sg-1"}, "security_group_ids must be a non-empty list"),
    ],
)
def test_rejects_launch_settings_ecs_would_reject(overrides, message):
    from airflow_on_aws.variables import VariableContractError
    from fargate_parallel_tasks import launch_settings

    with pytest.raises(VariableContractError, match=message):
        launch_settings({**JOBS, **overrides})


def test_the_print_command_prints_its_numbers_with_sh():
    import subprocess

    from fargate_parallel_tasks import ODD, print_command

    printed = subprocess.run(print_command(ODD), capture_output=True, text=True, check=True).stdout
    assert printed.split() == ["1", "3", "5", "7", "9"]
