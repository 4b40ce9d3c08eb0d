"""Creates in moto what the Pulumi program creates in AWS for the DAGs, and publishes their Variables.

Run by `npm run local` against the local moto server (AWS_ENDPOINT_URL). Reads a JSON request
(environment, region, the stack's ML and job settings) from the file named by its argument, or from
standard input, and prints what it created as JSON. The Variables are checked against the keys the
DAGs read (dags/airflow_on_aws/variables.py), the same contract the program's tests hold the program to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "dags"))

from airflow_on_aws.variables import FARGATE_JOBS, FARGATE_JOBS_KEYS, ML_TRAINING, ML_TRAINING_KEYS  # noqa: E402


def publish(secrets, environment: str, name: str, value: dict, keys: tuple[str, ...]) -> str:
    if sorted(value) != sorted(keys):
        raise SystemExit(f"the local {name} Variable has keys {sorted(value)}, the DAGs read {sorted(keys)}")
    secret = f"airflow/{environment}/variables/{name}"
    try:
        secrets.create_secret(Name=secret, SecretString=json.dumps(value))
    except secrets.exceptions.ResourceExistsException:
        secrets.put_secret_value(SecretId=secret, SecretString=json.dumps(value))
    return secret


def main() -> int:
    if len(sys.argv) > 1:
        req = json.loads(Path(sys.argv[1]).read_text())
    else:
        req = json.load(sys.stdin)
    env, region = req["environment"], req["region"]
    name = f"airflow-{env}"
    session = boto3.Session(region_name=region)
    s3, iam, ec2, ecs, logs = (session.client(s) for s in ("s3", "iam", "ec2", "ecs", "logs"))
    secrets = session.client("secretsmanager")

    # The stack's own secrets, which the containers read by their valueFrom (partial ARNs, by name).
    if len(sys.argv) > 2:
        for arn, value in json.loads(Path(sys.argv[2]).read_text()).items():
            secret = arn.split(":secret:", 1)[1]
            try:
                secrets.create_secret(Name=secret, SecretString=value)
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=secret, SecretString=value)

    for bucket in (req["artifactsBucket"], req["mlBucket"]):
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        role_arn = iam.create_role(RoleName=f"{name}-training-role", AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName=f"{name}-training-role")["Role"]["Arn"]

    # The private network the program builds: a VPC with DNS hostnames, two private subnets, and the
    # training and job security groups.
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{name}-vpc"]}])["Vpcs"]
    if vpcs:
        vpc_id = vpcs[0]["VpcId"]
        subnet_ids = sorted(
            s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        )
        groups = {
            g["GroupName"]: g["GroupId"]
            for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
        }
    else:
        vpc_id = ec2.create_vpc(
            CidrBlock="10.40.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": f"{name}-vpc"}]}],
        )["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
        zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
        subnet_ids = sorted(
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.40.{32 * i}.0/19", AvailabilityZone=zone)["Subnet"][
                "SubnetId"
            ]
            for i, zone in enumerate(zones)
        )
        groups = {
            g: ec2.create_security_group(GroupName=g, Description=g, VpcId=vpc_id)["GroupId"]
            for g in (f"{name}-training-sg", f"{name}-jobs-sg")
        }

    cluster = ecs.create_cluster(clusterName=f"{name}-cluster")["cluster"]["clusterName"]
    log_group = f"/airflow/{env}/jobs"
    try:
        logs.create_log_group(logGroupName=log_group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    job = req["jobs"]
    ecs.register_task_definition(
        family=f"{name}-job",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu=str(job["cpu"]),
        memory=str(job["memory"]),
        containerDefinitions=[
            {
                "name": "job",
                "image": job["image"],
                "essential": True,
                "command": ["python", "-c", "print('override this command')"],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": "job"},
                },
            }
        ],
    )

    ml = req["ml"]
    ml_training = {
        "environment": env,
        "region": region,
        "role_arn": role_arn,
        "image_uri": ml["imageUri"],
        "bucket": req["mlBucket"],
        "input_prefix": "input/",
        "output_prefix": "models/",
        "checkpoint_prefix": "checkpoints/",
        "batch_prefix": "batch/",
        "job_name_prefix": name,
        "instance_type": ml["instanceType"],
        "instance_count": ml["instanceCount"],
        "volume_size_gb": ml["volumeSizeGb"],
        "max_runtime_seconds": ml["maxRuntimeSeconds"],
        "use_spot": ml["spot"],
        "max_wait_seconds": ml["maxWaitSeconds"] if ml["spot"] else ml["maxRuntimeSeconds"],
        "transform_instance_type": ml["transformInstanceType"],
        "vpc_config": {"subnet_ids": subnet_ids, "security_group_ids": [groups[f"{name}-training-sg"]]}
        if ml["vpcMode"]
        else None,
        "enable_network_isolation": ml["networkIsolation"],
    }
    fargate_jobs = {
        "environment": env,
        "region": region,
        "cluster": cluster,
        "task_definition": f"{name}-job",
        "container_name": "job",
        "subnet_ids": subnet_ids,
        "security_group_ids": [groups[f"{name}-jobs-sg"]],
        "capacity_provider": "FARGATE_SPOT" if job["spot"] else "FARGATE",
        "log_group": log_group,
        "log_stream_prefix": "job",
    }
    print(
        json.dumps(
            {
                "variables": [
                    publish(secrets, env, ML_TRAINING, ml_training, ML_TRAINING_KEYS),
                    publish(secrets, env, FARGATE_JOBS, fargate_jobs, FARGATE_JOBS_KEYS),
                ],
                "cluster": cluster,
                "subnets": subnet_ids,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
