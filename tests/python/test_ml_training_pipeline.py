"""ml_training_pipeline, run end to end by the real Airflow against SageMaker, S3 and IAM in moto."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

import moto_sagemaker
from conftest import REGION, put_variable, run_dag, xcom

DAG_ID = "ml_training_pipeline"
BUCKET = "airflow-test-ml"
PREFIX = "airflow-test"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
# A fixed logical date gives a fixed run id, so the test knows the run's job name in advance.
LOGICAL_DATE = datetime(2025, 3, 1, tzinfo=UTC)


SETTINGS = {
    "environment": "test",
    "region": REGION,
    "role_arn": f"arn:aws:iam::123456789012:role/{PREFIX}-sagemaker-execution",
    "image_uri": IMAGE,
    "bucket": BUCKET,
    "input_prefix": "input/",
    "output_prefix": "models/",
    "checkpoint_prefix": "checkpoints/",
    "batch_prefix": "batch/",
    "job_name_prefix": PREFIX,
    "instance_type": "ml.m5.xlarge",
    "instance_count": 2,
    "volume_size_gb": 30,
    "max_runtime_seconds": 3600,
    "use_spot": True,
    "max_wait_seconds": 7200,
    "transform_instance_type": "ml.m5.large",
    "vpc_config": None,
    "enable_network_isolation": True,
}


@pytest.fixture(autouse=True)
def sagemaker_jobs_take_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Jobs are InProgress for two polls before they complete, so the operators' waits really wait."""
    moto_sagemaker.install(monkeypatch, polls=2)


def ml_training(aws: boto3.Session, **overrides: Any) -> dict[str, Any]:
    """The ml_training Variable as the Pulumi program publishes it, with the account's real resources."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    role = aws.client("iam").create_role(
        RoleName=f"{PREFIX}-sagemaker-execution",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})  # as AirflowNetwork's VPC
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i * 32}.0/19", AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        for i, az in enumerate("ab")
    ]
    group = ec2.create_security_group(GroupName="sagemaker", Description="training jobs", VpcId=vpc)["GroupId"]
    variable = {
        **SETTINGS,
        "role_arn": role,
        "vpc_config": {"subnet_ids": subnets, "security_group_ids": [group]},
        **overrides,
    }
    put_variable(aws, "ml_training", variable)
    return variable


def read_csv(s3: Any, key: str) -> list[list[str]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return list(csv.reader(io.StringIO(body)))


def test_trains_registers_scores_and_records_the_model_once_per_run(aws, dagbag, fast):
    variable = ml_training(aws)
    dag = fast(dagbag.get_dag(DAG_ID))

    run = run_dag(dag, logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE)

    sagemaker, s3 = aws.client("sagemaker"), aws.client("s3")
    jobs = sagemaker.list_training_jobs()["TrainingJobSummaries"]
    assert len(jobs) == 1, jobs
    name = jobs[0]["TrainingJobName"]
    assert name.startswith(f"{PREFIX}-") and len(name) <= 63

    # The CreateTrainingJob request as SageMaker (moto) received it.
    job = sagemaker.describe_training_job(TrainingJobName=name)
    assert job["TrainingJobStatus"] == "Completed"
    assert job["RoleArn"] == variable["role_arn"]
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["ResourceConfig"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30}
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    run_folder = name.removeprefix(f"{PREFIX}-xgb-")
    assert job["CheckpointConfig"]["S3Uri"] == f"s3://{BUCKET}/checkpoints/{DAG_ID}/{run_folder}/"
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/models/{DAG_ID}"
    assert job["VpcConfig"] == {
        "Subnets": variable["vpc_config"]["subnet_ids"],
        "SecurityGroupIds": variable["vpc_config"]["security_group_ids"],
    }
    assert job["EnableNetworkIsolation"] is True
    assert job["HyperParameters"]["objective"] == "binary:logistic"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert channels == {
        "train": f"s3://{BUCKET}/input/{DAG_ID}/{run_folder}/train/",
        "validation": f"s3://{BUCKET}/input/{DAG_ID}/{run_folder}/validation/",
    }

    # The data set: XGBoost CSV (label first, no header) under the run's input folder.
    train = read_csv(s3, f"input/{DAG_ID}/{run_folder}/train/train.csv")
    validation = read_csv(s3, f"input/{DAG_ID}/{run_folder}/validation/validation.csv")
    batch = read_csv(s3, f"batch/{DAG_ID}/{run_folder}/input/batch.csv")
    assert (len(train), len(validation), len(batch)) == (800, 200, 200)
    assert {row[0] for row in train + validation} == {"0", "1"}
    assert all(len(row) == 6 for row in train + validation) and all(len(row) == 5 for row in batch)
    assert [row[1:] for row in validation] == batch  # batch input: the validation features, no label
    float(train[0][1])  # a number, not a header

    # The model, registered from the job's artifact, and the batch transform that used it.
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{BUCKET}/models/{DAG_ID}/{name}/output/model.tar.gz"
    model = sagemaker.describe_model(ModelName=name)
    assert model["PrimaryContainer"]["ModelDataUrl"] == artifact
    assert model["PrimaryContainer"]["Image"] == IMAGE
    assert model["ExecutionRoleArn"] == variable["role_arn"]
    transform = sagemaker.describe_transform_job(TransformJobName=name)
    assert transform["TransformJobStatus"] == "Completed"
    assert transform["ModelName"] == name
    assert transform["TransformResources"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1}
    assert transform["TransformInput"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{BUCKET}/batch/{DAG_ID}/{run_folder}/input/batch.csv"
    )
    assert transform["TransformOutput"]["S3OutputPath"] == f"s3://{BUCKET}/batch/{DAG_ID}/{run_folder}/output/"
    assert len(sagemaker.list_transform_jobs()["TransformJobSummaries"]) == 1

    # The manifest next to the model, and the same location in XCom.
    manifest_key = f"models/{DAG_ID}/{name}/output/manifest.json"
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    assert manifest["model_artifact"] == artifact
    assert manifest["training_job_name"] == name
    assert manifest["model_name"] == name
    assert manifest["managed_spot_training"] is True
    assert manifest["run_id"] == run.run_id
    assert xcom(run, "record_model") == {
        "model_artifact": artifact,
        "manifest": f"s3://{BUCKET}/{manifest_key}",
        "model_name": name,
        "training_job_name": name,
    }
    assert xcom(run, "record_model", key="model_artifact") == artifact

    # A rerun of the same run id (what a retry of the whole run does) takes up the earlier jobs and
    # model instead of paying for new ones, and records the same model.
    again = run_dag(dag, logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE)

    assert again.run_id == run.run_id
    assert [j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]] == [name]
    assert [j["TransformJobName"] for j in sagemaker.list_transform_jobs()["TransformJobSummaries"]] == [name]
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == [name]
    assert xcom(again, "record_model", key="model_artifact") == artifact


def test_on_demand_training_outside_a_vpc_has_no_spot_or_vpc_settings():
    import ml_training_pipeline as pipeline

    settings = {**SETTINGS, "use_spot": False, "vpc_config": None, "enable_network_isolation": False}
    pipeline.check_settings(settings)
    request = pipeline.build_training_request(settings, "0123456789ab")

    assert request["TrainingJobName"] == f"{PREFIX}-xgb-0123456789ab"
    assert request["EnableManagedSpotTraining"] is False
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert "CheckpointConfig" not in request
    assert "VpcConfig" not in request
    assert request["EnableNetworkIsolation"] is False


def test_job_names_leave_room_for_the_providers_retry_suffix():
    import ml_training_pipeline as pipeline
    from airflow_on_aws.variables import VariableContractError

    longest = "p" * 35  # 35 + len("-xgb-") + 12 + 11 (the provider's "-<timestamp>") = 63
    pipeline.check_settings({**SETTINGS, "job_name_prefix": longest})
    assert (
        len(pipeline.build_training_request({**SETTINGS, "job_name_prefix": longest}, "0" * 12)["TrainingJobName"])
        == 52
    )
    with pytest.raises(VariableContractError, match="at most 35 characters"):
        pipeline.check_settings({**SETTINGS, "job_name_prefix": longest + "p"})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_wait_seconds": 600}, "max_wait_seconds must be at least max_runtime_seconds"),
        ({"job_name_prefix": "airflow_test"}, "job_name_prefix must be letters, digits and single hyphens"),
        ({"input_prefix": "input"}, "input_prefix must be a relative S3 prefix ending with '/'"),
        ({"max_runtime_seconds": 12 * 3600, "use_spot": False}, "longer than the train_model task"),
        ({"vpc_config": {"subnet_ids": [], "security_group_ids": ["sg-1"]}}, "vpc_config must be null or"),
    ],
)
def test_rejects_settings_sagemaker_would_reject(overrides, message):
    import ml_training_pipeline as pipeline
    from airflow_on_aws.variables import VariableContractError

    with pytest.raises(VariableContractError, match=message):
        pipeline.check_settings({**SETTINGS, **overrides})


def test_reads_the_variable_from_secrets_manager_and_names_missing_keys(aws):
    from airflow_on_aws.variables import ML_TRAINING, ML_TRAINING_KEYS, VariableContractError, read_variable

    put_variable(aws, ML_TRAINING, {key: value for key, value in SETTINGS.items() if key != "role_arn"})
    with pytest.raises(VariableContractError, match="lacks the keys role_arn"):
        read_variable(ML_TRAINING, ML_TRAINING_KEYS)
