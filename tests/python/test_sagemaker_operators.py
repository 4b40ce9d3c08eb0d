"""The resumable SageMaker operators, each run on its own (``execute``) against SageMaker in moto."""

from __future__ import annotations

import json

import pytest
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sagemaker.models import sagemaker_backends

from conftest import REGION

describe = SageMakerHook.describe_training_job
BUCKET = "airflow-test-ml"
NAME = "airflow-test-xgb-0123456789ab"


@pytest.fixture
def request_(aws):
    """A CreateTrainingJob request whose input exists, as the DAG's prepare_dataset leaves it."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    aws.client("s3").put_object(Bucket=BUCKET, Key="input/run/train/train.csv", Body=b"1,0.5\n0,-0.5\n")
    role = aws.client("iam").create_role(RoleName="sagemaker", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    return {
        "TrainingJobName": NAME,
        "AlgorithmSpecification": {"TrainingImage": "xgboost:1.7-1", "TrainingInputMode": "File"},
        "RoleArn": role,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/input/run/train/"}},
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


def training(config: dict, **kwargs):
    from airflow_on_aws.sagemaker import ResumableSageMakerTrainingOperator

    return ResumableSageMakerTrainingOperator(
        **kwargs,
        task_id="train_model",
        config=json.loads(json.dumps(config)),
        aws_conn_id=None,
        region_name=REGION,
        check_interval=0,
    )


def names(aws) -> list[str]:
    return sorted(j["TrainingJobName"] for j in aws.client("sagemaker").list_training_jobs()["TrainingJobSummaries"])


def test_first_try_starts_the_job(aws, request_):
    result = training(request_).execute({})
    assert names(aws) == [NAME]
    assert result["Training"]["TrainingJobName"] == NAME


def test_a_retry_uses_the_job_an_earlier_try_completed(aws, request_):
    training(request_).execute({})
    result = training(request_).execute({})
    assert names(aws) == [NAME]  # no second job
    assert result["Training"]["TrainingJobStatus"] == "Completed"


def test_a_retry_waits_for_the_job_an_earlier_try_left_running(aws, request_, monkeypatch, fast):
    import moto_sagemaker

    moto_sagemaker.install(monkeypatch, polls=6)  # still running when the retry starts waiting
    training(request_, wait_for_completion=False).execute({})  # the earlier try, lost while the job runs
    sagemaker = aws.client("sagemaker")
    assert sagemaker.describe_training_job(TrainingJobName=NAME)["TrainingJobStatus"] == "InProgress"

    describes = []
    monkeypatch.setattr(
        SageMakerHook, "describe_training_job", lambda hook, name: describes.append(name) or describe(hook, name)
    )
    result = training(request_).execute({})

    assert names(aws) == [NAME]
    assert result["Training"]["TrainingJobStatus"] == "Completed"
    assert len(describes) >= 4, describes  # it polled the running job until it completed


@pytest.mark.parametrize("status", ["Failed", "Stopped"])
def test_a_retry_after_a_failed_or_stopped_job_starts_a_new_one_with_the_prefix(aws, request_, status):
    training(request_).execute({})
    sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs[NAME].training_job_status = status

    result = training(request_).execute({})

    new = result["Training"]["TrainingJobName"]
    assert names(aws) == sorted([NAME, new])
    assert new.startswith(f"{NAME}-") and len(new) <= 63


def test_a_model_an_earlier_try_created_is_used_as_it_is(aws, request_):
    from airflow_on_aws.sagemaker import IdempotentSageMakerModelOperator

    config = {
        "ModelName": NAME,
        "ExecutionRoleArn": request_["RoleArn"],
        "PrimaryContainer": {
            "Image": "xgboost:1.7-1",
            "ModelDataUrl": f"s3://{BUCKET}/models/{NAME}/output/model.tar.gz",
        },
    }
    first = IdempotentSageMakerModelOperator(task_id="m", config=dict(config), aws_conn_id=None, region_name=REGION)
    again = IdempotentSageMakerModelOperator(task_id="m", config=dict(config), aws_conn_id=None, region_name=REGION)
    assert first.execute({})["Model"]["ModelName"] == NAME
    assert again.execute({})["Model"]["ModelName"] == NAME  # CreateModel would fail: the name exists
    assert [m["ModelName"] for m in aws.client("sagemaker").list_models()["Models"]] == [NAME]
