"""History for scripts/local/upgrade-test.sh: builds it on the local stack and snapshots it.

    python upgrade_history.py build           a Variable, a Connection, and fargate_parallel_tasks paused
    python upgrade_history.py snapshot FILE   what must survive an upgrade, as JSON (database, and with
                                              --api what the running Airflow reads back through its API)
    python upgrade_history.py check-before A  exit 1 unless snapshot A holds all of that history
    python upgrade_history.py compare A B [KEY...]  exit 1, naming the differences, unless B has A's KEYs

Reads the local stack's secrets from .local/secrets.json and talks to PostgreSQL on 127.0.0.1:25432 and
the API server on 127.0.0.1:28080 (scripts/local/main.ts, PORTS). Uses only the standard library and
SQLAlchemy, which every Airflow environment has.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
SECRETS = json.loads((ROOT / ".local" / "secrets.json").read_text())
API = "http://127.0.0.1:28080"
DB = f"postgresql+psycopg2://airflow:{SECRETS['dbPassword']}@127.0.0.1:25432/airflow"

VARIABLE = ("upgrade_test_variable", "kept across the upgrade")
CONNECTION = {
    "connection_id": "upgrade_test_connection",
    "conn_type": "http",
    "host": "example.invalid",
    "login": "upgrade",
    "password": "kept-encrypted",
    "extra": json.dumps({"region": "us-east-1"}),
}
PAUSED_DAG = "fargate_parallel_tasks"

QUERIES = {
    "alembic_version": "SELECT version_num FROM alembic_version",
    "dag_runs": "SELECT dag_id, run_id, state FROM dag_run ORDER BY dag_id, run_id",
    "task_instances": "SELECT dag_id, run_id, task_id, map_index, state FROM task_instance "
    "ORDER BY dag_id, run_id, task_id, map_index",
    "xcoms": "SELECT dag_id, run_id, task_id, map_index, key FROM xcom "
    "ORDER BY dag_id, run_id, task_id, map_index, key",
    "variables": "SELECT key, val FROM variable ORDER BY key",
    "connections": "SELECT conn_id, conn_type, host, login, password FROM connection ORDER BY conn_id",
    "paused": "SELECT dag_id, is_paused FROM dag ORDER BY dag_id",
}


def call(method: str, path: str, body: object | None = None, token: str | None = None) -> object:
    request = urllib.request.Request(
        f"{API}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
    return json.loads(raw) if raw else None


def token() -> str:
    answer = call("POST", "/auth/token", {"username": "admin", "password": SECRETS["adminPassword"]})
    return answer["access_token"]  # type: ignore[index]


def build() -> None:
    t = token()
    call("POST", "/api/v2/variables", {"key": VARIABLE[0], "value": VARIABLE[1]}, t)
    call("POST", "/api/v2/connections", CONNECTION, t)
    call("PATCH", f"/api/v2/dags/{PAUSED_DAG}", {"is_paused": True}, t)


def snapshot(with_api: bool) -> dict:
    engine = create_engine(DB)
    with engine.connect() as connection:
        state = {name: [list(row) for row in connection.execute(text(sql))] for name, sql in QUERIES.items()}
    engine.dispose()
    if with_api:
        t = token()
        variable = call("GET", f"/api/v2/variables/{VARIABLE[0]}", token=t)
        conn = call("GET", f"/api/v2/connections/{CONNECTION['connection_id']}", token=t)
        state["api"] = {
            "variable": variable["value"],  # type: ignore[index]
            "connection": {k: conn[k] for k in ("conn_type", "host", "login", "extra")},  # type: ignore[index]
        }
    return state


def compare(before: dict, after: dict, keys: list[str]) -> list[str]:
    problems = []
    for key in keys:
        if before.get(key) != after.get(key):
            problems.append(
                f"{key}: before {json.dumps(before.get(key))[:400]}, after {json.dumps(after.get(key))[:400]}"
            )
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "build":
        build()
        return 0
    if command == "snapshot":
        Path(argv[1]).write_text(json.dumps(snapshot("--api" in argv), indent=1, default=str))
        return 0
    if command == "check-before":
        # The history the upgrade must keep is really there: both DAGs ran to success, XComs, the
        # Variable, the Connection, and the paused DAG.
        state = json.loads(Path(argv[1]).read_text())
        missing = []
        for dag in ("ml_training_pipeline", PAUSED_DAG):
            if not any(r[0] == dag and r[2] == "success" for r in state["dag_runs"]):
                missing.append(f"a successful run of {dag}")
        if not state["xcoms"]:
            missing.append("an XCom")
        if [VARIABLE[0]] != [v[0] for v in state["variables"] if v[0] == VARIABLE[0]]:
            missing.append("the Variable")
        if not any(c[0] == CONNECTION["connection_id"] for c in state["connections"]):
            missing.append("the Connection")
        if [PAUSED_DAG, True] not in state["paused"]:
            missing.append(f"{PAUSED_DAG} paused")
        for m in missing:
            print(f"error: no history to upgrade: {m}", file=sys.stderr)
        return 1 if missing else 0
    if command == "compare":
        before, after = (json.loads(Path(p).read_text()) for p in argv[1:3])
        keys = [k for k in argv[3:] if not k.startswith("-")] or [k for k in before if k in after]
        problems = compare(before, after, keys)
        for p in problems:
            print(f"error: not kept: {p}", file=sys.stderr)
        return 1 if problems else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
