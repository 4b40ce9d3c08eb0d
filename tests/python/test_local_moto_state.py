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


def _request(service: str | None, path: str = "/", method: str = "POST") -> dict:
    auth = (
        f"AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/{service}/aws4_request, SignedHeaders=host"
        if service
        else ""
    )
    return {"HTTP_AUTHORIZATION": auth, "PATH_INFO": path, "REQUEST_METHOD": method}


def test_the_gate_holds_each_request_until_the_state_it_may_read_is_restored(monkeypatch) -> None:
    import threading

    restored: list[str] = []
    monkeypatch.setattr(moto_server, "restore_service", lambda service, pickled: restored.append(service))
    monkeypatch.setattr(moto_server, "install_gap_fillers", lambda: restored.append("gap-fillers"))
    answered: list[str] = []
    state = {"s3": b"s3 state", "ec2": b"ec2 state", "ecs": b"ecs state"}
    gate = moto_server.Gate(
        lambda environ, start: answered.append(environ["name"]), state, background=["s3"], on_demand=["ec2", "ecs"]
    )

    def send(name: str, environ: dict) -> threading.Thread:
        thread = threading.Thread(target=gate, args=({**environ, "name": name}, None))
        thread.start()
        return thread

    early = [
        send("secrets", _request("secretsmanager")),
        send("health", _request(None, "/moto-api/", "GET")),
        send("logs", _request("logs")),  # a background service with no saved state: nothing to wait for
    ]
    for thread in early:
        thread.join(5)
    assert sorted(answered) == ["health", "logs", "secrets"]
    held = [send("s3", _request("s3"))]
    held += [send(name, _request(name)) for name in ("ec2", "ecs", "sagemaker")]
    held += [send("reset", _request(None, "/moto-api/reset")), send("unsigned", _request(None))]
    held[0].join(0.2)
    assert sorted(answered) == ["health", "logs", "secrets"]  # nothing else before its state is back
    assert gate.unrestored() == {"ec2": b"ec2 state", "ecs": b"ecs state"}  # what a save writes for them
    gate.restored("s3")
    held[0].join(5)
    assert answered[-1] == "s3" and restored == []  # S3 needs nothing on demand
    gate.done()  # every background service back: the first other request restores the rest, once
    for thread in held:
        thread.join(5)
    assert sorted(answered) == ["ec2", "ecs", "health", "logs", "reset", "s3", "sagemaker", "secrets", "unsigned"]
    assert restored == ["ec2", "ecs", "gap-fillers"]
    assert gate.unrestored() == {}


def _saved_state(tmp_path: Path) -> tuple[Path, str]:
    """A state file as a boot finds it: a VPC, the Fernet key's secret, the artifacts bucket; and the VPC's id."""
    state = tmp_path / "state.pickle"
    with mock_aws():
        vpc = boto3.client("ec2").create_vpc(CidrBlock="10.41.0.0/16")["Vpc"]["VpcId"]
        boto3.client("secretsmanager").create_secret(Name="airflow/local/fernet-key", SecretString="k")
        boto3.client("s3").create_bucket(Bucket="airflow-local-artifacts")
        moto_server.save_state(state)
        BackendDict.reset()
    return state, vpc


def _start_server(state: Path):
    """moto_server.py on a free loopback port with STATE; returns the process (its first line read:
    it listens), a boto3 session and the endpoint URL."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "local" / "moto_server.py"), str(port), str(state)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout and "moto listening" in server.stdout.readline()
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return server, session, f"http://127.0.0.1:{port}"


def test_the_server_answers_from_the_saved_state_as_soon_as_it_listens(tmp_path: Path) -> None:
    import time

    state, vpc = _saved_state(tmp_path)
    server, session, url = _start_server(state)
    try:
        assert server.stdout
        # The first requests, at once: each is answered from the saved state, none from an empty moto.
        secret = session.client("secretsmanager", endpoint_url=url).get_secret_value(
            SecretId="airflow/local/fernet-key"
        )
        assert secret["SecretString"] == "k"
        vpcs = session.client("ec2", endpoint_url=url).describe_vpcs(VpcIds=[vpc])["Vpcs"]
        assert [v["VpcId"] for v in vpcs] == [vpc]
        started = time.monotonic()
        assert server.stdout.readline().startswith("moto state restored: ")
        assert server.stdout.readline().startswith("moto state restored on first use: ec2")
        assert time.monotonic() - started < 5
    finally:
        server.terminate()
        server.wait(10)
    assert server.returncode == 0
    assert state.stat().st_size > 0


def test_a_restart_that_never_asks_for_ec2_keeps_its_state_without_restoring_it(tmp_path: Path) -> None:
    state, vpc = _saved_state(tmp_path)
    server, session, url = _start_server(state)
    try:
        assert server.stdout
        # What a boot asks for: secrets, the DAG files' bucket. Then a stop, with EC2 never asked for.
        session.client("secretsmanager", endpoint_url=url).get_secret_value(SecretId="airflow/local/fernet-key")
        session.client("s3", endpoint_url=url).head_bucket(Bucket="airflow-local-artifacts")
        assert server.stdout.readline().startswith("moto state restored: ")
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=10)
    assert server.returncode == 0
    assert "on first use" not in out  # EC2 was never unpickled, nor its modules imported
    with mock_aws():
        BackendDict.reset()
        moto_server.restore_state(state)
        assert [v["VpcId"] for v in boto3.client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"]] == [vpc]
