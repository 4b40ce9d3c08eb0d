"""SageMaker jobs that take a while, as on AWS: moto 5.1 creates every job already Completed.

With moto as it is, an operator never sees a job running: its wait loop (or its deferral to the
triggerer) is never exercised. Here a new training or transform job is InProgress (secondary status
Training) for its first ``polls`` Describe calls, then Completed, which is what moto reported from the
start. Nothing else changes; a status a test sets itself (Failed, Stopped) is left alone.
"""

from __future__ import annotations

from typing import Any

from moto.sagemaker.models import SageMakerModelBackend

from moto_patching import Patcher


def install(monkeypatch: Patcher, polls: int = 2) -> None:
    for kind, status_attribute in (("training", "training_job_status"), ("transform", "transform_job_status")):
        create = getattr(SageMakerModelBackend, f"create_{kind}_job")
        describe = getattr(SageMakerModelBackend, f"describe_{kind}_job")

        def create_running(self: Any, *args: Any, _create: Any = create, _status: str = status_attribute, **kw: Any):
            job = _create(self, *args, **kw)
            setattr(job, _status, "InProgress")
            if hasattr(job, "secondary_status"):
                job.secondary_status = "Training"
            job._polls_left = polls
            return job

        def describe_progressing(
            self: Any,
            *args: Any,
            _describe: Any = describe,
            _kind: str = kind,
            _status: str = status_attribute,
            **kw: Any,
        ) -> dict[str, Any]:
            name = args[0] if args else kw[f"{_kind}_job_name"]
            job = getattr(self, f"{_kind}_jobs").get(name)
            if job is not None and getattr(job, _status) == "InProgress":
                if job._polls_left <= 0:
                    setattr(job, _status, "Completed")
                    if hasattr(job, "secondary_status"):
                        job.secondary_status = "Completed"
                job._polls_left -= 1
            return _describe(self, *args, **kw)

        monkeypatch.setattr(SageMakerModelBackend, f"create_{kind}_job", create_running)
        monkeypatch.setattr(SageMakerModelBackend, f"describe_{kind}_job", describe_progressing)
