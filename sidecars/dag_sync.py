"""Keeps a folder in sync with the DAGs in the artifacts bucket.

Runs as the ``dag-sync`` sidecar of every Airflow task that reads DAGs (the program passes this
file's source to ``python -c``, so it works with any Airflow image that has boto3). Every
DAG_SYNC_INTERVAL_SECONDS it lists s3://DAG_SYNC_BUCKET/DAG_SYNC_PREFIX, downloads new and changed
objects atomically (write to a temporary file, then rename), removes local files whose object is
gone, and touches DAG_SYNC_READY_FILE, whose age is the container's health check: the Airflow
container starts only after the first complete sync.
"""

import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import boto3

log = logging.getLogger("dag-sync")


def sync_once(s3, bucket: str, prefix: str, dest: Path, etags: dict) -> dict:
    """One pass: returns counts of downloaded, removed and unchanged files. `etags` is updated."""
    seen = set()
    stats = {"downloaded": 0, "removed": 0, "unchanged": 0}
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            rel = obj["Key"][len(prefix) :]
            if not rel or rel.endswith("/") or ".." in Path(rel).parts:
                continue
            seen.add(rel)
            target = dest / rel
            if etags.get(rel) == obj["ETag"] and target.exists():
                stats["unchanged"] += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".dag-sync-")
            os.close(fd)
            try:
                s3.download_file(bucket, obj["Key"], tmp)
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
            etags[rel] = obj["ETag"]
            stats["downloaded"] += 1
    for path in sorted(dest.rglob("*"), reverse=True):
        rel = path.relative_to(dest).as_posix()
        if path.is_file() and rel not in seen and not path.name.startswith(".dag-sync-"):
            path.unlink()
            etags.pop(rel, None)
            stats["removed"] += 1
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return stats


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    bucket = os.environ["DAG_SYNC_BUCKET"]
    prefix = os.environ.get("DAG_SYNC_PREFIX", "dags/")
    dest = Path(os.environ.get("DAG_SYNC_DEST", "/opt/airflow/dags"))
    interval = int(os.environ.get("DAG_SYNC_INTERVAL_SECONDS", "60"))
    ready = Path(os.environ.get("DAG_SYNC_READY_FILE", "/tmp/dags-synced"))
    runs = int(os.environ.get("DAG_SYNC_RUNS", "0"))  # 0: forever (tests run a bounded number)
    dest.mkdir(parents=True, exist_ok=True)
    s3 = boto3.client("s3")
    etags: dict = {}
    done = 0
    while True:
        try:
            stats = sync_once(s3, bucket, prefix, dest, etags)
            ready.touch()
            if stats["downloaded"] or stats["removed"]:
                log.info("synced s3://%s/%s: %s", bucket, prefix, stats)
        except Exception:  # keep syncing: a failed pass leaves the last good copy in place
            log.exception("sync of s3://%s/%s failed", bucket, prefix)
        done += 1
        if runs and done >= runs:
            return 0
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main())
