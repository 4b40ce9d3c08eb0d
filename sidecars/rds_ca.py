"""Puts the region's RDS CA bundle where every Airflow container of the task reads it.

Runs as the ``rds-ca`` init container of every Celery-layout task (the program passes this file's
source to ``python -c``, so it works with any Airflow image, a user's own included). It uses the
standard library only, because it runs as root (the task volume it writes is owned by root on
Fargate) and root may not see the packages of the image's airflow user.

Sources, in order:
  1. RDS_CA_BAKED (images/airflow/Dockerfile bakes AWS's global bundle there), when that file holds
     RDS_CA_EXPECT: no network needed, which is what stacks without NAT rely on;
  2. RDS_CA_URL, the region's bundle from AWS's trust store (over HTTPS, verified by the image's
     system CAs), tried RDS_CA_ATTEMPTS times with backoff.
Of the source's certificates it keeps the CAs of RDS_CA_REGION, requires RDS_CA_EXPECT (the root of
the instance's CA, rds-ca-rsa2048-g1) among them, unexpired, and writes them atomically to
RDS_CA_DEST, readable by everyone. Any failure is one line on stderr and exit status 1: the Airflow
containers depend on this container's success and never start without a verified bundle.

Source of the URLs and names: Amazon RDS User Guide, "Using SSL/TLS to encrypt a connection to a DB
instance or cluster" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html).
"""

from __future__ import annotations

import os
import re
import ssl
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----")


class BundleError(Exception):
    """The bundle cannot be used: the message is the one line the container prints."""


def common_name(cert: dict) -> str:
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return ""


def ca_certificates(pem: str) -> list[tuple[str, dict]]:
    """Each CA certificate of a PEM text with its decoded fields, parsed by OpenSSL (through ssl)."""
    certs = []
    for block in PEM_BLOCK.findall(pem):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            context.load_verify_locations(cadata=block)
        except ssl.SSLError as e:
            raise BundleError(f"a certificate of the bundle does not parse: {e}") from None
        for cert in context.get_ca_certs():
            certs.append((block, cert))
    return certs


def regional_bundle(pem: str, region: str, expect: str, now: float) -> str:
    """The CAs of `region` out of `pem`; BundleError unless `expect` is among them and unexpired."""
    certs = ca_certificates(pem)
    if not certs:
        raise BundleError("it holds no CA certificate")
    mine = [(block, cert) for block, cert in certs if f" {region} " in f" {common_name(cert)} "]
    roots = [cert for _, cert in mine if common_name(cert) == expect]
    if not roots:
        names = sorted({common_name(c) for _, c in mine}) or ["none"]
        raise BundleError(f"it lacks {expect!r} (its {region} CAs: {', '.join(names)})")
    if all(ssl.cert_time_to_seconds(cert["notAfter"]) <= now for cert in roots):
        raise BundleError(f"{expect!r} expired on {roots[0]['notAfter']}")
    return "\n".join(block for block, _ in mine) + "\n"


def fetch(url: str, attempts: int, timeout: float) -> str:
    last = ""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.read().decode("ascii")
        except (OSError, UnicodeDecodeError) as e:
            last = str(e)
            if attempt < attempts:
                time.sleep(min(2**attempt, 20))
    raise BundleError(f"could not download {url} after {attempts} attempts ({last})")


def write_atomically(dest: Path, text: str) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".rds-ca-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o444)
    os.replace(tmp, dest)


def main() -> int:
    region = os.environ["RDS_CA_REGION"]
    expect = os.environ["RDS_CA_EXPECT"]
    url = os.environ["RDS_CA_URL"]
    dest = Path(os.environ["RDS_CA_DEST"])
    baked = os.environ.get("RDS_CA_BAKED", "")
    attempts = int(os.environ.get("RDS_CA_ATTEMPTS", "5"))
    now = time.time()
    source, bundle = "", None
    baked_problem = ""
    if baked and Path(baked).is_file():
        try:
            bundle = regional_bundle(Path(baked).read_text(encoding="ascii"), region, expect, now)
            source = baked
        except (BundleError, OSError, UnicodeDecodeError) as e:
            baked_problem = f"; the image's {baked} was not usable: {e}"
    try:
        if bundle is None:
            bundle = regional_bundle(fetch(url, attempts, timeout=15), region, expect, now)
            source = url
        write_atomically(dest, bundle)
    except (BundleError, OSError) as e:
        print(
            f"rds-ca: no verified RDS CA bundle for {region}: {e}{baked_problem}. The tasks need outbound "
            f"HTTPS to truststore.pki.rds.amazonaws.com (NAT), or the image must hold AWS's global bundle "
            f"at {baked or 'RDS_CA_BAKED'} (as images/airflow/Dockerfile does).",
            file=sys.stderr,
        )
        return 1
    print(f"rds-ca: wrote {bundle.count('BEGIN CERTIFICATE')} {region} CA certificate(s) from {source} to {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
