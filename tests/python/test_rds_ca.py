"""The rds-ca init container (sidecars/rds_ca.py), run as ECS runs it: ``python -c <source>``.

The bundles are made here with ``cryptography``: CA certificates named as RDS names its roots
("Amazon RDS <region> Root CA RSA2048 G1"), served from file:// URLs (the container fetches https://).
"""

from __future__ import annotations

import datetime
import os
import stat
import subprocess
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import ROOT

SOURCE = (ROOT / "sidecars" / "rds_ca.py").read_text()
REGION = "eu-west-1"
EXPECT = f"Amazon RDS {REGION} Root CA RSA2048 G1"


def ca_pem(common_name: str, days: int = 3650) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=2))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def run(tmp: Path, url: str, baked: str = "", attempts: str = "1") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "RDS_CA_REGION": REGION,
        "RDS_CA_EXPECT": EXPECT,
        "RDS_CA_URL": url,
        "RDS_CA_DEST": str(tmp / "rds-ca" / "rds-ca-bundle.pem"),
        "RDS_CA_BAKED": baked,
        "RDS_CA_ATTEMPTS": attempts,
    }
    return subprocess.run(
        [sys.executable, "-c", SOURCE], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_writes_the_regions_bundle_readable_by_all_and_only_its_cas(tmp_path: Path):
    bundle = tmp_path / "bundle.pem"
    root, ecc = ca_pem(EXPECT), ca_pem(f"Amazon RDS {REGION} Root CA ECC384 G1")
    bundle.write_text(root + ecc)
    result = run(tmp_path, bundle.as_uri())
    assert result.returncode == 0, result.stderr
    dest = tmp_path / "rds-ca" / "rds-ca-bundle.pem"
    assert dest.read_text().count("BEGIN CERTIFICATE") == 2
    assert stat.S_IMODE(dest.stat().st_mode) == 0o444
    assert f"wrote 2 {REGION} CA certificate(s) from {bundle.as_uri()}" in result.stdout


def test_takes_the_regions_cas_out_of_the_images_global_bundle_without_the_network(tmp_path: Path):
    baked = tmp_path / "global-bundle.pem"
    baked.write_text(
        ca_pem("Amazon RDS us-east-1 Root CA RSA2048 G1")
        + ca_pem(EXPECT)
        + ca_pem("Amazon RDS eu-west-10 Root CA RSA2048 G1")
    )
    result = run(tmp_path, "file:///nonexistent/bundle.pem", baked=str(baked))
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "rds-ca" / "rds-ca-bundle.pem").read_text()
    assert written.count("BEGIN CERTIFICATE") == 1
    assert written.strip() in baked.read_text()
    assert f"from {baked}" in result.stdout


def test_downloads_when_the_images_bundle_lacks_the_regions_root(tmp_path: Path):
    baked = tmp_path / "global-bundle.pem"
    baked.write_text(ca_pem("Amazon RDS us-east-1 Root CA RSA2048 G1"))
    served = tmp_path / "served.pem"
    served.write_text(ca_pem(EXPECT))
    result = run(tmp_path, served.as_uri(), baked=str(baked))
    assert result.returncode == 0, result.stderr
    assert f"from {served.as_uri()}" in result.stdout


def test_fails_in_one_line_when_the_bundle_lacks_the_instances_root(tmp_path: Path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(ca_pem(f"Amazon RDS {REGION} Root CA ECC384 G1"))
    result = run(tmp_path, bundle.as_uri())
    assert result.returncode == 1
    assert not (tmp_path / "rds-ca" / "rds-ca-bundle.pem").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"rds-ca: no verified RDS CA bundle for {REGION}: it lacks '{EXPECT}'")


def test_fails_in_one_line_when_the_download_fails_or_is_not_a_bundle(tmp_path: Path):
    unreachable = run(tmp_path, "file:///nonexistent/bundle.pem")
    assert unreachable.returncode == 1
    assert len(unreachable.stderr.strip().splitlines()) == 1
    assert "could not download file:///nonexistent/bundle.pem after 1 attempts" in unreachable.stderr
    assert "outbound HTTPS to truststore.pki.rds.amazonaws.com" in unreachable.stderr
    page = tmp_path / "captive.html"
    page.write_text("<html>Sign in to the Wi-Fi</html>")
    garbage = run(tmp_path, page.as_uri())
    assert garbage.returncode == 1
    assert "it holds no CA certificate" in garbage.stderr


def test_refuses_an_expired_root(tmp_path: Path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(ca_pem(EXPECT, days=-1))
    result = run(tmp_path, bundle.as_uri())
    assert result.returncode == 1
    assert f"'{EXPECT}' expired on" in result.stderr
