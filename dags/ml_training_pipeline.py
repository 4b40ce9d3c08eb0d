"""
### ML training pipeline on Amazon SageMaker

Trains a binary classifier with SageMaker's built-in XGBoost algorithm, end to end:

1. **plan_run** reads the Airflow Variable `ml_training` (the secret
   `airflow/<env>/variables/ml_training`) and derives everything this run names: the S3 paths under
   the run's own folder and one job name, the same on every try of the run, that starts with
   `job_name_prefix` (IAM lets Airflow create SageMaker jobs and models with that prefix only).
2. **prepare_dataset** generates a small synthetic classification data set in code (fixed seed, no
   download) and writes it to S3 as XGBoost's CSV (label first, no header): training and validation
   channels, and the batch input without labels. Rewriting the same run gives the same objects.
3. **train_model** runs the SageMaker training job (managed spot training with checkpoints when
   `use_spot` is on; VPC and network isolation when set).
4. **create_model** registers the trained artifact as a SageMaker model.
5. **batch_transform** scores the batch input with a SageMaker batch transform job.
6. **record_model** writes `manifest.json` next to `model.tar.gz` and returns the artifact location
   (XCom `return_value`).

Retries are safe: a retry takes up the job or model an earlier try of the same run created instead of
paying for a second one. Waits are deferrable (`[operators] default_deferrable`) where a triggerer
runs. Not scheduled: runs are triggered (UI, API, or an upstream DAG).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
from datetime import datetime, timedelta
from typing import Any

from airflow.configuration import conf
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import DAG, get_current_context, task

from airflow_on_aws.sagemaker import (
    MAX_NAME_LENGTH,
    SUFFIX_ROOM,
    IdempotentSageMakerModelOperator,
    ResumableSageMakerTrainingOperator,
    ResumableSageMakerTransformOperator,
)
from airflow_on_aws.variables import ML_TRAINING, ML_TRAINING_KEYS, read_variable, require

DAG_ID = "ml_training_pipeline"

# Waits for SageMaker jobs defer to the triggerer where one runs (both layouts run one); dag.test()
# and a local run without a triggerer keep the default False. Set with
# AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE=True.
DEFERRABLE = conf.getboolean("operators", "default_deferrable", fallback=False)

# How often the operators poll SageMaker while they wait (and the triggers, when deferred). Jobs take
# minutes to hours on AWS; `npm run local` shortens it, as moto's jobs end within seconds.
CHECK_INTERVAL_SECONDS = int(os.environ.get("AIRFLOW_ON_AWS_SAGEMAKER_CHECK_INTERVAL", "60"))
# Airflow's own limits. SageMaker stops a job itself at StoppingCondition; these catch the rest.
TRAINING_TIMEOUT = timedelta(hours=12)
TRANSFORM_TIMEOUT = timedelta(hours=3)

# The synthetic data set: a fixed seed, so every run (and every retry) writes the same bytes.
DATASET_SEED = 20240607
DATASET_ROWS = 1000
VALIDATION_ROWS = 200
FEATURE_WEIGHTS = (1.5, -2.0, 0.75, 0.0, 1.25)  # the 4th feature is noise

HYPERPARAMETERS = {  # SageMaker passes hyperparameters as strings
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": "100",
    "max_depth": "4",
    "eta": "0.2",
    "subsample": "0.8",
}

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")


def run_key(dag_id: str, run_id: str) -> str:
    """A short key that is the same on every try of a run and differs between runs."""
    return hashlib.sha256(f"{dag_id}\n{run_id}".encode()).hexdigest()[:12]


def synthetic_rows(seed: int = DATASET_SEED, rows: int = DATASET_ROWS) -> list[list[float | int]]:
    """Rows of ``[label, x1..x5]``: the label is 1 when a noisy linear score is positive."""
    rng = random.Random(seed)
    data: list[list[float | int]] = []
    for _ in range(rows):
        features = [round(rng.gauss(0.0, 1.0), 4) for _ in FEATURE_WEIGHTS]
        score = sum(w * x for w, x in zip(FEATURE_WEIGHTS, features, strict=True)) + rng.gauss(0.0, 0.5)
        data.append([1 if score > 0 else 0, *features])
    return data


def to_csv(rows: list[list[float | int]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def network_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The VpcConfig and EnableNetworkIsolation fields jobs and models share."""
    fields: dict[str, Any] = {"EnableNetworkIsolation": bool(settings["enable_network_isolation"])}
    vpc = settings["vpc_config"]
    if vpc:
        fields["VpcConfig"] = {"Subnets": list(vpc["subnet_ids"]), "SecurityGroupIds": list(vpc["security_group_ids"])}
    return fields


def tags(settings: dict[str, Any], key: str) -> list[dict[str, str]]:
    return [
        {"Key": "Environment", "Value": settings["environment"]},
        {"Key": "AirflowDag", "Value": DAG_ID},
        {"Key": "AirflowRunKey", "Value": key},
    ]


def check_settings(settings: dict[str, Any]) -> None:
    """Fail clearly (and without retries) on settings SageMaker would reject or Airflow would cut short."""
    name = ML_TRAINING
    prefix = settings["job_name_prefix"]
    longest_prefix = MAX_NAME_LENGTH - SUFFIX_ROOM - len("-xgb-") - 12
    require(
        isinstance(prefix, str) and bool(NAME_PATTERN.match(prefix)),
        name,
        f"job_name_prefix must be letters, digits and single hyphens, got {prefix!r}",
    )
    require(len(prefix) <= longest_prefix, name, f"job_name_prefix must have at most {longest_prefix} characters")
    for key in ("input_prefix", "output_prefix", "checkpoint_prefix", "batch_prefix"):
        value = settings[key]
        require(
            isinstance(value, str) and value.endswith("/") and not value.startswith("/"),
            name,
            f"{key} must be a relative S3 prefix ending with '/', got {value!r}",
        )
    for key in ("instance_count", "volume_size_gb", "max_runtime_seconds", "max_wait_seconds"):
        require(isinstance(settings[key], int) and settings[key] > 0, name, f"{key} must be a positive integer")
    longest = settings["max_wait_seconds"] if settings["use_spot"] else settings["max_runtime_seconds"]
    if settings["use_spot"]:
        require(
            settings["max_wait_seconds"] >= settings["max_runtime_seconds"],
            name,
            "max_wait_seconds must be at least max_runtime_seconds when use_spot is on",
        )
    require(
        longest + 15 * 60 <= TRAINING_TIMEOUT.total_seconds(),
        name,
        f"a training job may run {longest} s, longer than the train_model task's {TRAINING_TIMEOUT} timeout allows",
    )
    vpc = settings["vpc_config"]
    if vpc is not None:
        require(
            isinstance(vpc, dict) and bool(vpc.get("subnet_ids")) and bool(vpc.get("security_group_ids")),
            name,
            "vpc_config must be null or have non-empty subnet_ids and security_group_ids",
        )


def build_training_request(settings: dict[str, Any], key: str) -> dict[str, Any]:
    """The CreateTrainingJob request of the run ``key``: XGBoost on the run's CSV channels."""
    bucket = settings["bucket"]
    input_folder = f"{settings['input_prefix']}{DAG_ID}/{key}"
    training_request: dict[str, Any] = {
        "TrainingJobName": f"{settings['job_name_prefix']}-xgb-{key}",
        "AlgorithmSpecification": {"TrainingImage": settings["image_uri"], "TrainingInputMode": "File"},
        "RoleArn": settings["role_arn"],
        "HyperParameters": dict(HYPERPARAMETERS),
        "InputDataConfig": [
            {
                "ChannelName": channel,
                "ContentType": "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": s3_uri(bucket, f"{input_folder}/{channel}/"),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel in ("train", "validation")
        ],
        "OutputDataConfig": {"S3OutputPath": s3_uri(bucket, f"{settings['output_prefix']}{DAG_ID}")},
        "ResourceConfig": {
            "InstanceType": settings["instance_type"],
            "InstanceCount": settings["instance_count"],
            "VolumeSizeInGB": settings["volume_size_gb"],
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": settings["max_runtime_seconds"]},
        "EnableManagedSpotTraining": bool(settings["use_spot"]),
        "Tags": tags(settings, key),
        **network_settings(settings),
    }
    if settings["use_spot"]:
        training_request["StoppingCondition"]["MaxWaitTimeInSeconds"] = settings["max_wait_seconds"]
        # Per run, not per job: a retry after a spot interruption resumes from the checkpoints.
        training_request["CheckpointConfig"] = {
            "S3Uri": s3_uri(bucket, f"{settings['checkpoint_prefix']}{DAG_ID}/{key}/")
        }
    return training_request


default_args = {
    "owner": "ml-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(minutes=10),
}

with DAG(
    dag_id=DAG_ID,
    description="Synthetic data -> SageMaker XGBoost training -> model -> batch transform -> manifest",
    doc_md=__doc__,
    schedule=None,  # triggered on demand: each run pays for a training job
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["ml", "sagemaker", "training"],
) as dag:

    @task(multiple_outputs=True)
    def plan_run() -> dict[str, Any]:
        """Read the ml_training Variable and name everything this run creates."""
        settings = read_variable(ML_TRAINING, ML_TRAINING_KEYS)
        check_settings(settings)
        context = get_current_context()
        key = run_key(DAG_ID, context["run_id"])
        bucket = settings["bucket"]
        input_folder = f"{settings['input_prefix']}{DAG_ID}/{key}"
        batch_folder = f"{settings['batch_prefix']}{DAG_ID}/{key}"

        training_request = build_training_request(settings, key)

        return {
            "settings": settings,
            "region": settings["region"],
            "run_key": key,
            "train_key": f"{input_folder}/train/train.csv",
            "validation_key": f"{input_folder}/validation/validation.csv",
            "batch_input_key": f"{batch_folder}/input/batch.csv",
            "batch_output_uri": s3_uri(bucket, f"{batch_folder}/output/"),
            "training_request": training_request,
        }

    @task(multiple_outputs=False)
    def prepare_dataset(plan: dict[str, Any]) -> dict[str, Any]:
        """Write the synthetic data set to the run's S3 folders (the same bytes on every try)."""
        settings = plan["settings"]
        rows = synthetic_rows()
        train, validation = rows[:-VALIDATION_ROWS], rows[-VALIDATION_ROWS:]
        batch = [row[1:] for row in validation]  # features only: what batch transform scores
        s3 = S3Hook(aws_conn_id=None, region_name=plan["region"])
        objects = {
            plan["train_key"]: to_csv(train),
            plan["validation_key"]: to_csv(validation),
            plan["batch_input_key"]: to_csv(batch),
        }
        for key, body in objects.items():
            s3.load_string(body, key=key, bucket_name=settings["bucket"], replace=True)
        positives = sum(row[0] for row in rows)
        print(
            f"Wrote {len(train)} training, {len(validation)} validation and {len(batch)} batch rows "
            f"({positives} of {len(rows)} positive) to s3://{settings['bucket']}/"
        )
        return {"rows": {"train": len(train), "validation": len(validation), "batch": len(batch)}}

    @task(multiple_outputs=False)
    def model_request(plan: dict[str, Any], training: dict[str, Any]) -> dict[str, Any]:
        """CreateModel request for the artifact the training job produced (named after the job)."""
        settings = plan["settings"]
        job = training["Training"]
        return {
            "ModelName": job["TrainingJobName"],
            "ExecutionRoleArn": settings["role_arn"],
            "PrimaryContainer": {
                "Image": settings["image_uri"],
                "ModelDataUrl": job["ModelArtifacts"]["S3ModelArtifacts"],
            },
            "Tags": tags(settings, plan["run_key"]),
            **network_settings(settings),
        }

    @task(multiple_outputs=False)
    def transform_request(plan: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
        """CreateTransformJob request that scores the batch input with the model."""
        settings = plan["settings"]
        model_name = model["Model"]["ModelName"]
        return {
            "TransformJobName": model_name,
            "ModelName": model_name,
            "TransformInput": {
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": s3_uri(settings["bucket"], plan["batch_input_key"]),
                    }
                },
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": plan["batch_output_uri"],
                "Accept": "text/csv",
                "AssembleWith": "Line",
            },
            "TransformResources": {"InstanceType": settings["transform_instance_type"], "InstanceCount": 1},
            "Tags": tags(settings, plan["run_key"]),
        }

    @task(multiple_outputs=True)  # the whole dict as return_value, and each key on its own
    def record_model(plan: dict[str, Any], training: dict[str, Any], transform: dict[str, Any]) -> dict[str, Any]:
        """Write manifest.json next to model.tar.gz and return where the model is (XCom return_value)."""
        settings = plan["settings"]
        job = training["Training"]
        artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
        bucket, artifact_key = S3Hook.parse_s3_url(artifact)
        manifest_key = f"{artifact_key.rsplit('/', 1)[0]}/manifest.json"
        context = get_current_context()
        manifest = {
            "dag_id": DAG_ID,
            "run_id": context["run_id"],
            "environment": settings["environment"],
            "training_job_name": job["TrainingJobName"],
            "training_job_arn": job["TrainingJobArn"],
            "model_artifact": artifact,
            "model_name": transform["Model"]["ModelName"],
            "image_uri": job["AlgorithmSpecification"]["TrainingImage"],
            "hyperparameters": job["HyperParameters"],
            "instance_type": job["ResourceConfig"]["InstanceType"],
            "instance_count": job["ResourceConfig"]["InstanceCount"],
            "managed_spot_training": job.get("EnableManagedSpotTraining", False),
            "batch_transform_job_name": transform["Transform"]["TransformJobName"],
            "batch_predictions": transform["Transform"]["TransformOutput"]["S3OutputPath"],
        }
        S3Hook(aws_conn_id=None, region_name=plan["region"]).load_string(
            json.dumps(manifest, indent=2, sort_keys=True),
            key=manifest_key,
            bucket_name=bucket,
            replace=True,
        )
        print(f"Model artifact: {artifact}; manifest: s3://{bucket}/{manifest_key}")
        return {
            "model_artifact": artifact,
            "manifest": s3_uri(bucket, manifest_key),
            "model_name": manifest["model_name"],
            "training_job_name": manifest["training_job_name"],
        }

    plan = plan_run()
    dataset = prepare_dataset(plan)

    train_model = ResumableSageMakerTrainingOperator(
        task_id="train_model",
        config=plan["training_request"],
        aws_conn_id=None,  # the worker's IAM role (ECS task role or MWAA execution role)
        region_name=plan["region"],
        wait_for_completion=True,
        print_log=True,
        check_interval=CHECK_INTERVAL_SECONDS,
        max_attempts=int(TRAINING_TIMEOUT.total_seconds() // CHECK_INTERVAL_SECONDS),
        max_ingestion_time=int(TRAINING_TIMEOUT.total_seconds()),
        deferrable=DEFERRABLE,
        execution_timeout=TRAINING_TIMEOUT,
    )

    create_model = IdempotentSageMakerModelOperator(
        task_id="create_model",
        config=model_request(plan, train_model.output),
        aws_conn_id=None,
        region_name=plan["region"],
    )

    batch_transform = ResumableSageMakerTransformOperator(
        task_id="batch_transform",
        config=transform_request(plan, create_model.output),
        aws_conn_id=None,
        region_name=plan["region"],
        wait_for_completion=True,
        check_interval=CHECK_INTERVAL_SECONDS,
        max_attempts=int(TRANSFORM_TIMEOUT.total_seconds() // CHECK_INTERVAL_SECONDS),
        max_ingestion_time=int(TRANSFORM_TIMEOUT.total_seconds()),
        deferrable=DEFERRABLE,
        execution_timeout=TRANSFORM_TIMEOUT,
    )

    dataset >> train_model
    record_model(plan, train_model.output, batch_transform.output)
