"""The local stack's moto keeps what was created in it across a restart, with the same ids.

scripts/local/moto_server.py pickles moto's backends when it stops and loads them when it starts: here
the same two functions, around a reset of moto (what a new server process starts from).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import boto3
from moto import mock_aws
from moto.core.base_backend import BackendDict

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("local_moto_server", ROOT / "scripts" / "local" / "moto_server.py")
assert _spec and _spec.loader
moto_server = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(moto_server)


def test_ids_and_objects_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.pickle"
    with mock_aws():
        ec2 = boto3.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.0.0/19")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="jobs", Description="jobs", VpcId=vpc)["GroupId"]
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="airflow-local-artifacts")
        s3.put_object(Bucket="airflow-local-artifacts", Key="logs/a.log", Body=b"task log")
        ecs = boto3.client("ecs")
        ecs.create_cluster(clusterName="airflow-local-cluster")
        secret = boto3.client("secretsmanager").create_secret(Name="airflow/local/variables/x", SecretString="{}")

        moto_server.save_state(state)
        BackendDict.reset()  # a new moto server starts from nothing
        assert not [v for v in ec2.describe_vpcs()["Vpcs"] if v["VpcId"] == vpc]

        assert moto_server.restore_state(state) > 0
        assert [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"]] == [vpc]
        assert ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"] == vpc
        assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["GroupName"] == "jobs"
        assert s3.get_object(Bucket="airflow-local-artifacts", Key="logs/a.log")["Body"].read() == b"task log"
        assert ecs.describe_clusters(clusters=["airflow-local-cluster"])["clusters"][0]["status"] == "ACTIVE"
        described = boto3.client("secretsmanager").describe_secret(SecretId="airflow/local/variables/x")
        assert described["ARN"] == secret["ARN"]
        # A restored subnet still hands out addresses (what RunTask's network interfaces take).
        eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]
        assert eni["PrivateIpAddress"].startswith("10.40.")


def test_no_state_file_restores_nothing(tmp_path: Path) -> None:
    assert moto_server.restore_state(tmp_path / "absent.pickle") == 0
