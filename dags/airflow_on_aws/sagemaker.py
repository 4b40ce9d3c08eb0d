"""SageMaker operators whose retries take up what an earlier try of the same run started.

The provider's operators, on a retry, start a second job under the same name with a timestamp suffix
(``action_if_job_exists="timestamp"``), even when the first try's job is still running or has
completed: a training job paid for twice. The DAGs give every job a name that is the same on every try
of a run, and these subclasses look that name up first:

- no such job: the first try, the provider's operator starts it;
- a job still running: the retry waits for it (deferring to the triggerer when deferrable);
- a completed job: the retry returns it as it is;
- a failed or stopped job: the provider's operator starts a new one, under the name plus a timestamp
  suffix, so the new name still starts with the job name prefix that IAM is scoped to.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerModelOperator,
    SageMakerTrainingOperator,
    SageMakerTransformOperator,
    serialize,
)
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from botocore.exceptions import ClientError

SUFFIX_ROOM = 11
"""Characters the provider appends to a name that exists already: ``-`` and a 10-digit timestamp."""

MAX_NAME_LENGTH = 63
"""SageMaker's limit for job and model names."""


def _status(describe: Any, name: str, key: str) -> str | None:
    """The status of the resource ``name``, or None when it does not exist."""
    try:
        return describe(name)[key]
    except ClientError as err:
        # SageMaker answers ValidationException for a name it does not know.
        if err.response["Error"]["Code"] == "ValidationException":
            return None
        raise


class ResumableSageMakerTrainingOperator(SageMakerTrainingOperator):
    """``SageMakerTrainingOperator`` that, on a retry, takes up the training job of an earlier try."""

    def execute(self, context: Any) -> dict:
        name = self.config["TrainingJobName"]
        status = _status(self.hook.describe_training_job, name, "TrainingJobStatus")
        if status == "Completed":
            self.log.info("Training job %s of an earlier try has completed: using it.", name)
            return self.serialize_result(name)
        if status in self.hook.non_terminal_states:
            self.log.info("Training job %s of an earlier try is %s: waiting for it.", name, status)
            if self.deferrable:
                self.defer(
                    trigger=SageMakerTrigger(
                        job_name=name,
                        job_type="Training",
                        poke_interval=self.check_interval,
                        max_attempts=self.max_attempts,
                        aws_conn_id=self.aws_conn_id,
                    ),
                    method_name="execute_complete",
                    timeout=self.execution_timeout,
                )
            self.hook.check_training_status_with_log(
                name,
                self.hook.non_terminal_states,
                self.hook.training_failed_states,
                wait_for_completion=True,
                check_interval=self.check_interval,
                max_ingestion_time=self.max_ingestion_time,
            )
            return self.serialize_result(name)
        if status is not None:
            self.log.info("Training job %s of an earlier try is %s: starting a new one.", name, status)
        return super().execute(context)


class ResumableSageMakerTransformOperator(SageMakerTransformOperator):
    """``SageMakerTransformOperator`` that, on a retry, takes up the transform job of an earlier try.

    Its config is a CreateTransformJob request alone (the model is created by its own task).
    """

    def execute(self, context: Any) -> dict:
        name = self.config["TransformJobName"]
        status = _status(self.hook.describe_transform_job, name, "TransformJobStatus")
        if status == "Completed":
            self.log.info("Transform job %s of an earlier try has completed: using it.", name)
            return self.serialize_result(name)
        if status in self.hook.non_terminal_states:
            self.log.info("Transform job %s of an earlier try is %s: waiting for it.", name, status)
            if self.deferrable:
                self.defer(
                    trigger=SageMakerTrigger(
                        job_name=name,
                        job_type="Transform",
                        poke_interval=self.check_interval,
                        max_attempts=self.max_attempts,
                        aws_conn_id=self.aws_conn_id,
                    ),
                    method_name="execute_complete",
                    timeout=self.execution_timeout,
                )
            self.hook.check_status(
                name,
                "TransformJobStatus",
                self.hook.describe_transform_job,
                self.check_interval,
                self.max_ingestion_time,
            )
            return self.serialize_result(name)
        if status is not None:
            self.log.info("Transform job %s of an earlier try is %s: starting a new one.", name, status)
        return super().execute(context)


class IdempotentSageMakerModelOperator(SageMakerModelOperator):
    """``SageMakerModelOperator`` that returns the model an earlier try created instead of failing on it."""

    def execute(self, context: Any) -> dict:
        name = self.config["ModelName"]
        if _status(self.hook.describe_model, name, "ModelArn") is not None:
            self.log.info("Model %s of an earlier try exists: using it.", name)
            return {"Model": serialize(self.hook.describe_model(name))}
        return super().execute(context)
