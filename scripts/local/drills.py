"""The worker drills (issue 17) on the local stack: scale-in, SIGTERM and SIGKILL of a busy worker.

Run by scripts/local/drills.sh (and CI). Starts the local stack (``npm run local``) with the test-only
DAG ``worker_drill`` (scripts/local/drill_dags/) added to a copy of dags/, a stand-in for the ECS
agent's task scale-in protection endpoint on a loopback port, and its own Celery workers on the
queue ``drills``. Each drill worker runs exactly as a worker container's command does (the
sidecars/celery_worker.py launcher, ``python -c``), with the stack worker's environment (read from
the running worker process) plus its own ``ECS_AGENT_URI``. Signals reach it as they reach a
container on Fargate with ``DUMB_INIT_SETSID=0``: SIGTERM to the worker's main process only; a kill
is SIGKILL to its whole process group.

Prints each figure, and last ``drills: N passed, M failed``; exits non-zero when one failed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = Path(os.environ.get("LOCAL_STATE_DIR", ROOT / ".local"))
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
LAUNCHER = ROOT / "sidecars" / "celery_worker.py"
DRILL_DAG = Path(__file__).resolve().parent / "drill_dags" / "worker_drill.py"
API = "http://127.0.0.1:28080"
AGENT_PORT = 25170
QUEUE = "drills"
DAG_ID = "worker_drill"
TASK_ID = "hold"
#: The worker containers' stopTimeout: read from the worker task definition the local stack renders
#: (main, worker_stop_timeout; WORKER_LIFECYCLE.stopTimeoutSeconds in lib/worker-lifecycle.ts).
STOP_TIMEOUT_S = 0
#: The goal for a killed worker's task to run again elsewhere.
RECOVERY_GOAL_S = 180

started = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - started:7.1f} s] {text}", flush=True)


class DrillFailed(Exception):
    pass


def require(condition: bool, message: str) -> None:
    if not condition:
        raise DrillFailed(message)


# --- the ECS agent's task-protection endpoint, as a loopback stand-in ------------------------------


class Agent:
    """Serves PUT/GET ``/api/<task>/task-protection/v1/state`` as the ECS agent does for each task,
    and records every call. Protection lapses at its expiry, as on ECS."""

    def __init__(self, port: int):
        self.calls: list[dict] = []
        self.state: dict[str, dict] = {}
        self.lock = threading.Lock()
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # quiet
                pass

            def _task(self) -> str | None:
                parts = self.path.strip("/").split("/")
                if len(parts) == 5 and parts[0] == "api" and parts[2:] == ["task-protection", "v1", "state"]:
                    return parts[1]
                return None

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                task = self._task()
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                    enabled = body["ProtectionEnabled"]
                    minutes = int(body.get("ExpiresInMinutes", 120))
                    assert isinstance(enabled, bool) and 1 <= minutes <= 2880
                except (ValueError, KeyError, AssertionError):
                    return self._reply(400, {"error": {"Code": "InvalidParameterException"}})
                if task is None:
                    return self._reply(404, {"error": {"Code": "NotFound"}})
                self._reply(200, {"protection": agent.put(task, enabled, minutes)})

            def do_GET(self):
                task = self._task()
                if task is None:
                    return self._reply(404, {"error": {"Code": "NotFound"}})
                self._reply(200, {"protection": agent.get(task)})

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, task: str, enabled: bool, minutes: int) -> dict:
        with self.lock:
            now = time.monotonic()
            self.calls.append({"task": task, "at": now, "enabled": enabled, "minutes": minutes})
            self.state[task] = {"enabled": enabled, "until": now + minutes * 60 if enabled else now}
            return self._view(task)

    def get(self, task: str) -> dict:
        with self.lock:
            return self._view(task)

    def _view(self, task: str) -> dict:
        s = self.state.get(task, {"enabled": False, "until": 0})
        on = s["enabled"] and time.monotonic() < s["until"]
        expires = datetime.now(UTC) + timedelta(seconds=max(0, s["until"] - time.monotonic()))
        return {
            "ProtectionEnabled": on,
            "ExpirationDate": expires.isoformat() if on else None,
            "TaskArn": f"arn:aws:ecs:us-east-1:000000000000:task/local/{task}",
        }

    def protected(self, task: str) -> bool:
        return self.get(task)["ProtectionEnabled"]

    def calls_of(self, task: str) -> list[dict]:
        with self.lock:
            return [c for c in self.calls if c["task"] == task]

    def uri(self, task: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/{task}"

    def close(self) -> None:
        self.server.shutdown()


def ecs_scale_in(tasks: list[str], desired: int, protected: dict[str, bool]) -> list[str]:
    """The tasks that ECS service scale-in stops when the desired count drops to ``desired``: as many
    as are above it, never a protected one (a protected task stays until its protection is released
    or expires; https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection.html)."""
    excess = max(0, len(tasks) - desired)
    return [t for t in tasks if not protected.get(t, False)][:excess]


# --- the local stack, its API, and the drill workers ---------------------------------------------


def npm_local(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["npm", "run", "--silent", "local", "--", *args], cwd=ROOT, env=env, check=False)
    if check and r.returncode != 0:
        raise DrillFailed(f"npm run local -- {' '.join(args)} failed (exit {r.returncode})")
    return r


def stack_worker_env(env: dict) -> dict:
    """The environment the local stack gives its Celery worker: what the task definition gives it
    (scripts/local/drill-env.ts renders it with the runner's own function)."""
    r = subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "ts-node"), str(Path(__file__).resolve().parent / "drill-env.ts")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    require(r.returncode == 0, f"could not render the worker's environment: {r.stderr.strip()[-500:]}")
    return json.loads(r.stdout)


class Api:
    def __init__(self):
        secrets = json.loads((STATE_DIR / "secrets.json").read_text())
        body = self.call("/auth/token", "POST", {"username": "admin", "password": secrets["adminPassword"]})
        self.token = body["access_token"]

    def call(self, path: str, method: str = "GET", body: dict | None = None):
        headers = {"Content-Type": "application/json"}
        if getattr(self, "token", None):
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(API + path, data=data, method=method, headers=headers)
        for attempt in range(10):
            try:
                with urllib.request.urlopen(request, timeout=30) as r:
                    text = r.read()
                    return json.loads(text) if text else None
            except urllib.error.HTTPError as err:
                raise DrillFailed(f"{method} {path}: HTTP {err.code} {err.read()[:300]!r}") from None
            except (urllib.error.URLError, OSError):
                if attempt == 9:
                    raise
                time.sleep(2)

    def trigger(self, seconds: int) -> str:
        self.call(f"/api/v2/dags/{DAG_ID}", "PATCH", {"is_paused": False})
        run = self.call(f"/api/v2/dags/{DAG_ID}/dagRuns", "POST", {"logical_date": None, "conf": {"seconds": seconds}})
        return run["dag_run_id"]

    def task(self, run_id: str) -> dict:
        return self.call(f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/{TASK_ID}")

    def run_state(self, run_id: str) -> str:
        return self.call(f"/api/v2/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}")["state"]

    def wait_task(self, run_id: str, states: set, timeout: float, try_number: int | None = None) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ti = self.task(run_id)
            if ti["state"] in states and (try_number is None or ti["try_number"] >= try_number):
                return ti
            time.sleep(0.5)
        raise DrillFailed(f"{TASK_ID} of {run_id} not {'/'.join(sorted(states))} within {timeout:.0f} s")

    def wait_run(self, run_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(run_id)
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        raise DrillFailed(f"run {run_id} not finished within {timeout:.0f} s")

    def wait_dag(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dags = self.call("/api/v2/dags?limit=100")["dags"]
            if any(d["dag_id"] == DAG_ID for d in dags):
                return
            time.sleep(2)
        raise DrillFailed(f"the DAG {DAG_ID} was not parsed within {timeout:.0f} s")


class Worker:
    """One drill worker: a Celery worker on the drills queue, as a worker container runs it."""

    def __init__(self, name: str, env: dict, agent: Agent):
        self.name, self.agent = name, agent
        self.log = STATE_DIR / "logs" / f"drill-{name}.log"
        self.env = {
            **env,
            "ECS_AGENT_URI": agent.uri(name),
            "WORKER_PROTECTION_CHECK_SECONDS": "1",
            "WORKER_PROTECTION_IDLE_SECONDS": "3",
        }
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        command = [
            str(VENV_PYTHON), "-c", LAUNCHER.read_text(),
            "celery", "worker", "--queues", QUEUE, "--concurrency", "1",
            "--celery-hostname", f"{self.name}@drills", "--skip-serve-logs",
            "--pid", str(STATE_DIR / f"drill-{self.name}.pid"),
        ]  # fmt: skip
        with open(self.log, "a") as log:
            offset = log.tell()  # a restart appends: look for this start's ready line only
            self.proc = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DrillFailed(f"worker {self.name} exited at start (see {self.log})")
            if b"task protection checks every" in self.log.read_bytes()[offset:]:
                return
            time.sleep(0.5)
        raise DrillFailed(f"worker {self.name} not ready within 120 s (see {self.log})")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def sigterm(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)  # the main process only: dumb-init with DUMB_INIT_SETSID=0

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the container is gone: every process of it
        except ProcessLookupError:
            pass
        self.proc.wait()

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        try:  # its pool children, left behind when the main process went first
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def protection_window(agent: Agent, task: str, since: float) -> tuple[float | None, float | None]:
    """When the worker's first protect call and its last release call (after ``since``) happened."""
    calls = [c for c in agent.calls_of(task) if c["at"] >= since]
    on = next((c["at"] for c in calls if c["enabled"]), None)
    off = next((c["at"] for c in reversed(calls) if not c["enabled"]), None)
    return on, off


# --- the drills -----------------------------------------------------------------------------------


def drill_sigterm(api: Api, env: dict, agent: Agent, workers: list) -> None:
    """SIGTERM mid-task: the task finishes, the worker exits by itself inside the stop timeout, and
    it was protected while the task ran and released after."""
    w = Worker("term", env, agent)
    workers.append(w)
    w.start()
    begun = time.monotonic()
    run = api.trigger(seconds=20)
    ti = api.wait_task(run, {"running"}, 120)
    running_seen = time.monotonic()
    require(agent.protected(w.name), "the worker was not protected while its task ran")
    time.sleep(3)
    w.sigterm()
    sent = time.monotonic()
    say(f"sigterm: SIGTERM sent to the worker {sent - running_seen:.1f} s after its task started")
    code = w.wait_exit(STOP_TIMEOUT_S + 10)
    exited = time.monotonic()
    require(code is not None, f"the worker did not exit within {STOP_TIMEOUT_S} s of SIGTERM")
    ti = api.task(run)
    state = api.wait_run(run, 60)
    on, off = protection_window(agent, w.name, begun)
    say(
        f"sigterm: worker exited (code {code}) {exited - sent:.1f} s after SIGTERM (stop timeout {STOP_TIMEOUT_S} s); "
        f"task {ti['state']} on try {ti['try_number']}; run {state}"
    )
    require(code == 0, f"the worker exited with code {code}, not 0 (warm shutdown)")
    require(exited - sent <= STOP_TIMEOUT_S, f"the worker took {exited - sent:.1f} s to exit")
    require(state == "success" and ti["state"] == "success", f"the run ended {state}, its task {ti['state']}")
    require(ti["try_number"] == 1, f"the task ran {ti['try_number']} times; it should finish on its first try")
    require(on is not None and on <= running_seen, "no protect call before the task was seen running")
    require(off is not None and off > sent, "no release call after the task finished")
    require(not agent.protected(w.name), "the worker's task is still protected after it exited")
    say(
        f"sigterm: protected {running_seen - on:.1f} s before the task was seen running; "
        f"released {off - sent:.1f} s after SIGTERM"
    )


def drill_scale_in(api: Api, env: dict, agent: Agent, workers: list) -> None:
    """Scale-in with an idle and a busy worker: only the idle one may go."""
    busy, idle = Worker("busy", env, agent), Worker("idle", env, agent)
    workers += [busy, idle]
    busy.start()
    run = api.trigger(seconds=60)
    api.wait_task(run, {"running"}, 120)
    idle.start()  # started after the task was taken: it has nothing to do
    time.sleep(2)
    names = [busy.name, idle.name]
    chosen = ecs_scale_in(names, 0, {n: agent.protected(n) for n in names})
    say(f"scale-in: desired 2 -> 0 with protection { ({n: agent.protected(n) for n in names}) }: ECS stops {chosen}")
    require(chosen == [idle.name], f"scale-in chose {chosen}, not only the idle worker")
    idle.sigterm()
    sent = time.monotonic()
    code = idle.wait_exit(STOP_TIMEOUT_S)
    require(code == 0, f"the idle worker did not exit cleanly (code {code})")
    say(f"scale-in: the idle worker exited {time.monotonic() - sent:.1f} s after SIGTERM")
    require(busy.alive() and api.task(run)["state"] == "running", "the busy worker or its task did not survive")
    state = api.wait_run(run, 120)
    require(state == "success", f"the busy worker's run ended {state}")
    done = time.monotonic()
    while agent.protected(busy.name) and time.monotonic() - done < 30:
        time.sleep(0.5)
    chosen = ecs_scale_in([busy.name], 0, {busy.name: agent.protected(busy.name)})
    say(f"scale-in: the busy worker's task succeeded; {time.monotonic() - done:.1f} s later ECS may stop {chosen}")
    require(chosen == [busy.name], "the busy worker stayed protected after its task finished")
    busy.sigterm()
    require(busy.wait_exit(STOP_TIMEOUT_S) == 0, "the formerly busy worker did not exit cleanly")


def drill_sigkill(api: Api, env: dict, agent: Agent, workers: list) -> None:
    """SIGKILL mid-task: the task is retried on a worker (the killed one restarted, as ECS replaces
    a stopped task, and a second one) and the DAG run succeeds, within the goal."""
    a, b = Worker("kill-a", env, agent), Worker("kill-b", env, agent)
    workers += [a, b]
    a.start()
    run = api.trigger(seconds=60)
    api.wait_task(run, {"running"}, 120)
    b.start()
    time.sleep(2)
    require(api.task(run)["state"] == "running", "the task ended before the kill: make it longer")
    a.kill()
    killed = time.monotonic()
    say("sigkill: the busy worker's process group got SIGKILL mid-task")
    a.restarts += 1
    a.start()  # what the runner / ECS does with a stopped worker
    say(f"sigkill: the killed worker restarted in {time.monotonic() - killed:.1f} s")
    ti = api.wait_task(run, {"running", "success"}, RECOVERY_GOAL_S + 120, try_number=2)
    recovered = time.monotonic() - killed
    state = api.wait_run(run, 120)
    final = api.task(run)
    say(
        f"sigkill: the task ran again (try {ti['try_number']}) {recovered:.1f} s after the kill "
        f"(goal < {RECOVERY_GOAL_S} s); run {state} {time.monotonic() - killed:.1f} s after the kill"
    )
    require(state == "success" and final["state"] == "success", f"the run ended {state}")
    require(final["try_number"] == 2, f"the task took {final['try_number']} tries, not 2")
    require(recovered < RECOVERY_GOAL_S, f"recovery took {recovered:.1f} s")


def drill_from_zero(api: Api, env: dict, agent: Agent, workers: list) -> None:
    """From zero: a task queued with no worker on its queue runs once a worker starts; the time from
    the worker's start to the task running is the worker-boot step of the scale-out-from-zero wait."""
    run = api.trigger(seconds=5)
    api.wait_task(run, {"queued"}, 120)
    time.sleep(2)
    w = Worker("zero", env, agent)
    workers.append(w)
    begun = time.monotonic()
    w.start()
    ready = time.monotonic() - begun
    api.wait_task(run, {"running", "success"}, 120)
    took = time.monotonic() - begun
    state = api.wait_run(run, 120)
    say(
        f"from-zero: worker ready {ready:.1f} s after it started; it ran the waiting task {took:.1f} s after it started"
    )
    require(state == "success", f"the run ended {state}")


DRILLS = [
    ("from-zero", drill_from_zero),
    ("sigterm", drill_sigterm),
    ("scale-in", drill_scale_in),
    ("sigkill", drill_sigkill),
]


def prepare_dags() -> Path:
    folder = STATE_DIR / "drill-dags"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "dags", folder)
    shutil.copy(DRILL_DAG, folder / DRILL_DAG.name)
    return folder


def worker_stop_timeout() -> int:
    """The stopTimeout of the worker container in the task definitions the local stack rendered."""
    try:
        rendered = json.loads((STATE_DIR / "rendered.json").read_text())
        worker = next(t for t in rendered["tasks"] if t["name"] == "worker")
        timeout = next(c for c in worker["containers"] if c["name"] == "worker").get("stopTimeout")
    except (StopIteration, KeyError, ValueError) as err:
        raise DrillFailed(f"no worker task definition in {STATE_DIR / 'rendered.json'}: {err!r}") from err
    require(isinstance(timeout, int), "the worker task definition has no stopTimeout")
    return timeout


def main(argv: list) -> int:
    global STOP_TIMEOUT_S
    only = set(argv)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "logs").mkdir(exist_ok=True)
    npm_local("down", check=False)
    agent = Agent(AGENT_PORT)
    workers: list = []
    passed = failed = 0
    try:
        env = {**os.environ, "LOCAL_DAGS_FOLDER": str(prepare_dags())}
        say("starting the local stack with the drill DAG")
        npm_local(env=env)
        api = Api()
        api.wait_dag(120)
        STOP_TIMEOUT_S = worker_stop_timeout()
        say(f"the worker task definition's stop timeout: {STOP_TIMEOUT_S} s")
        worker_env = stack_worker_env(env)
        for name, drill in DRILLS:
            if only and name not in only:
                continue
            say(f"drill {name}: {drill.__doc__.split(':')[0].strip()}")
            try:
                drill(api, worker_env, agent, workers)
                passed += 1
                say(f"drill {name}: passed")
            except (DrillFailed, OSError, KeyError) as err:
                failed += 1
                say(f"drill {name}: FAILED: {err}")
            finally:
                for w in workers:
                    w.stop()
                workers.clear()
    except (DrillFailed, OSError) as err:
        failed += 1
        say(f"drills: could not run: {err}")
    finally:
        for w in workers:
            w.stop()
        npm_local("down", check=False)
        agent.close()
    print(f"drills: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
