"""The worker launcher (sidecars/celery_worker.py): scale-in protection through the ECS agent's
endpoint, decided from the worker's own tasks; and the drills' model of ECS scale-in.

The drills (scripts/local/drills.sh) run the launcher as a real Celery worker; these tests pin the
decisions and the calls.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

from conftest import ROOT


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


launcher = load(ROOT / "sidecars" / "celery_worker.py", "celery_worker")
drills = load(ROOT / "scripts" / "local" / "drills.py", "drills")


@pytest.fixture
def agent():
    """A loopback ECS agent that records each request and answers as the agent does."""
    calls: list[dict] = []
    reply = {"body": None}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def do_PUT(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append({"path": self.path, "body": body, "type": self.headers["Content-Type"]})
            data = json.dumps(
                reply["body"] or {"protection": {"ProtectionEnabled": body["ProtectionEnabled"], "TaskArn": "arn"}}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/api/task-1", calls, reply
    server.shutdown()


def test_protect_and_release_are_puts_to_the_task_protection_endpoint(agent):
    uri, calls, _ = agent
    assert launcher.set_protection(uri, True, 30) is True
    assert launcher.set_protection(uri, False, 30) is True
    assert calls == [
        {
            "path": "/api/task-1/task-protection/v1/state",
            "body": {"ProtectionEnabled": True, "ExpiresInMinutes": 30},
            "type": "application/json",
        },
        {
            "path": "/api/task-1/task-protection/v1/state",
            "body": {"ProtectionEnabled": False},
            "type": "application/json",
        },
    ]


def test_a_refused_or_unreachable_protection_call_reports_failure_instead_of_raising(agent):
    uri, _, reply = agent
    reply["body"] = {"failure": {"Arn": "arn", "Reason": "TASK_NOT_VALID"}}
    assert launcher.set_protection(uri, True, 30) is False
    assert launcher.set_protection("http://127.0.0.1:9", True, 30, timeout=0.5) is False


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def tracker(busy: list, calls: list, ok: list | None = None, clock: Clock | None = None):
    ok = ok if ok is not None else [True]

    def call(enabled: bool) -> bool:
        calls.append(enabled)
        return ok[0]

    return launcher.ProtectionTracker(
        call=call, busy=lambda: busy[0], renew_seconds=600, idle_seconds=10, clock=clock or Clock()
    )


def test_a_received_task_protects_at_once_and_only_once():
    calls: list = []
    t = tracker([True], calls)
    t.received()
    t.received()
    t.check()
    assert calls == [True]
    assert t.protected


def test_protection_is_renewed_while_busy_and_released_only_after_the_idle_grace():
    calls: list = []
    busy, clock = [True], Clock()
    t = tracker(busy, calls, clock=clock)
    t.check()
    clock.now += 599
    t.check()
    clock.now += 1
    t.check()
    assert calls == [True, True]  # renewed after 600 s
    busy[0] = False
    clock.now += 9
    t.check()
    assert calls == [True, True] and t.protected  # idle for 9 s: still protected
    clock.now += 1
    t.check()
    assert calls == [True, True, False] and not t.protected
    t.check()
    assert calls == [True, True, False]  # nothing more to release


def test_a_task_received_just_before_a_check_keeps_the_protection():
    """The consumer receives a task before Celery counts it as reserved: the check must not release."""
    calls: list = []
    busy, clock = [False], Clock()
    t = tracker(busy, calls, clock=clock)
    t.received()
    clock.now += 1
    t.check()
    assert calls == [True] and t.protected


def test_a_failed_call_is_retried_at_the_next_check():
    calls: list = []
    ok = [False]
    t = tracker([True], calls, ok=ok)
    t.received()
    assert not t.protected
    ok[0] = True
    t.check()
    assert calls == [True, True] and t.protected


def test_release_at_shutdown():
    calls: list = []
    t = tracker([True], calls)
    t.received()
    t.release()
    assert calls == [True, False] and not t.protected


def test_without_ecs_agent_uri_the_launcher_installs_no_hooks():
    assert launcher.install({}) is None


def test_the_launcher_runs_the_airflow_command_line_it_is_given():
    """As the task definition runs it: python -c <launcher> <airflow arguments>."""
    source = (ROOT / "sidecars" / "celery_worker.py").read_text()
    env = {k: v for k, v in os.environ.items() if k != "ECS_AGENT_URI"}
    r = subprocess.run(
        [sys.executable, "-c", source, "version"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    # The Airflow of this environment, whatever version the lock pins.
    assert r.stdout.strip().splitlines()[-1] == importlib.metadata.version("apache-airflow")


@pytest.mark.parametrize(
    ("tasks", "desired", "protected", "stopped"),
    [
        (["busy", "idle"], 1, {"busy": True}, ["idle"]),
        (["busy", "idle"], 0, {"busy": True}, ["idle"]),
        (["a", "b"], 0, {"a": True, "b": True}, []),
        (["a", "b"], 0, {}, ["a", "b"]),
        (["a", "b"], 2, {}, []),
    ],
)
def test_ecs_scale_in_stops_only_unprotected_tasks(tasks, desired, protected, stopped):
    assert drills.ecs_scale_in(tasks, desired, protected) == stopped
