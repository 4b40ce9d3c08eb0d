"""What moto 5.1's ECS lacks for running one-off Fargate tasks, added the way ECS behaves.

moto keeps ECS's bookkeeping (clusters, task definitions, tasks and their lifecycle) but runs nothing,
and three of its gaps stop ``EcsRunTaskOperator`` from ever succeeding against it:

1. RunTask sums the container definitions' ``memory`` to place the task, and fails (TypeError) on a
   Fargate task definition that sizes the task as a whole and gives its containers no memory of their
   own, which ECS accepts. Here such a task is sized by the task definition's cpu and memory.
2. RunTask with a ``capacityProviderStrategy`` (how the DAG asks for FARGATE or FARGATE_SPOT) and no
   ``launchType`` is placed on EC2 container instances, which a Fargate cluster has none of. ECS runs
   such a task on Fargate: so does this, by passing moto the Fargate launch type.
3. A task's containers stay PENDING forever, even once moto has moved the task to STOPPED, and the
   operator then fails the task as "still pending". Here containers follow their task's status.

And it plays the container runtime: when a task is launched it runs the container's command (the
override's, or the task definition's) with this machine's ``sh``, and ships its output to CloudWatch
Logs as the ``awslogs`` driver would (group and stream prefix from the task definition, stream
``<prefix>/<container>/<task id>``). The container's exit code becomes the task's. So the test sees
what the job really printed, and the operator reads it back the way it does on AWS.

Every RunTask request is recorded as it arrived, for the tests to check.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import boto3
from moto.ecs import models as ecs_models
from moto.ecs.responses import EC2ContainerServiceResponse

from moto_patching import Patcher

FARGATE_PROVIDERS = {"FARGATE", "FARGATE_SPOT"}


class FargateEmulator:
    def __init__(self) -> None:
        self.run_task_requests: list[dict[str, Any]] = []
        self.outputs: dict[str, list[str]] = {}  # task ARN -> the lines its container printed

    def install(self, monkeypatch: Patcher) -> FargateEmulator:
        backend_class = ecs_models.EC2ContainerServiceBackend
        run_task_response = EC2ContainerServiceResponse.run_task
        run_task = backend_class.run_task
        describe_tasks = backend_class.describe_tasks
        emulator = self
        requests: list[dict[str, Any]] = []  # the RunTask request being answered (moto answers one at a time)

        def run_task_request(response: EC2ContainerServiceResponse) -> Any:
            requests.append(json.loads(response.body))
            emulator.run_task_requests.append(requests[-1])
            try:
                return run_task_response(response)
            finally:
                requests.pop()

        def run_task_on_fargate(
            backend: Any,
            cluster: str,
            definition: str,
            count: int,
            overrides: Any,
            started_by: Any,
            tags: Any,
            launch_type: Any,
            *rest: Any,
        ) -> list[Any]:
            request = requests[-1] if requests else {}
            providers = {item["capacityProvider"] for item in request.get("capacityProviderStrategy", [])}
            if providers and providers <= FARGATE_PROVIDERS and not launch_type:
                launch_type = "FARGATE"  # gap 2
            tasks = run_task(backend, cluster, definition, count, overrides, started_by, tags, launch_type, *rest)
            for task in tasks:
                emulator._run_container(backend, task, request)
            return tasks

        def containers_follow_their_task(backend: Any, *args: Any, **kwargs: Any) -> list[Any]:
            tasks = describe_tasks(backend, *args, **kwargs)
            for task in tasks:
                status = task.last_status  # moves the task along its lifecycle, as moto's state manager says
                for container in task.containers:
                    if status in ("RUNNING", "STOPPED"):
                        container.last_status = status  # gap 3
            return tasks

        requirements = backend_class._calculate_task_resource_requirements

        def task_level_size(task_definition: Any) -> dict[str, Any]:
            if all(c.get("memory") or c.get("memoryReservation") for c in task_definition.container_definitions):
                return requirements(task_definition)
            # gap 1: containers without memory of their own, sized by the task definition
            return {
                "CPU": int(task_definition.cpu),
                "MEMORY": int(task_definition.memory),
                "PORTS": [],
                "PORTS_UDP": [],
            }

        monkeypatch.setattr(backend_class, "_calculate_task_resource_requirements", staticmethod(task_level_size))
        monkeypatch.setattr(EC2ContainerServiceResponse, "run_task", run_task_request)
        monkeypatch.setattr(backend_class, "run_task", run_task_on_fargate)
        monkeypatch.setattr(backend_class, "describe_tasks", containers_follow_their_task)
        return self

    def _run_container(self, backend: Any, task: Any, request: dict[str, Any]) -> None:
        definition = backend.describe_task_definition(task.task_definition_arn)
        container = definition.container_definitions[0]
        overrides = {o["name"]: o for o in request.get("overrides", {}).get("containerOverrides", [])}
        command = overrides.get(container["name"], {}).get("command") or container.get("command")
        assert command, f"container {container['name']} has no command to run"
        ran = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        lines = ran.stdout.splitlines() + ran.stderr.splitlines()
        self.outputs[task.task_arn] = lines
        task.containers[0].exitCode = ran.returncode

        options = container.get("logConfiguration", {}).get("options", {})
        if container.get("logConfiguration", {}).get("logDriver") == "awslogs":
            logs = boto3.client("logs", region_name=options["awslogs-region"])
            stream = f"{options['awslogs-stream-prefix']}/{container['name']}/{task.id}"
            logs.create_log_stream(logGroupName=options["awslogs-group"], logStreamName=stream)
            now = int(time.time() * 1000)
            events = [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
            if events:
                logs.put_log_events(logGroupName=options["awslogs-group"], logStreamName=stream, logEvents=events)
