"""Runs Airflow's Celery worker so that it leaves gracefully: scale-in protection while it has work.

The worker containers of the Celery layout run this file as their command, with the worker's own
arguments after it (the program passes the file's source to ``python -c``, like the other sidecars):

    python -c "<this file>" celery worker --queues default --concurrency 16

It connects to Celery's signals, then runs the ``airflow`` command line in this same process, so the
worker is exactly ``airflow celery worker`` with these hooks:

- **Scale-in protection.** When the worker receives a task, and as long as it has tasks received or
  running, it protects its own ECS task through the ECS agent's task scale-in protection endpoint,
  ``PUT $ECS_AGENT_URI/task-protection/v1/state`` with ``{"ProtectionEnabled": true,
  "ExpiresInMinutes": N}`` (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html),
  renewing it before it expires. When it has been idle for WORKER_PROTECTION_IDLE_SECONDS it
  releases it (``{"ProtectionEnabled": false}``), so that service scale-in stops idle workers only.
  Without ECS_AGENT_URI (not on ECS) the hooks do nothing. A failing call is logged and retried at
  the next check; it never fails a task.
- **Warm shutdown.** Celery itself stops consuming on SIGTERM and waits for its running tasks; this
  file logs what is still running at that moment, and releases the protection when the worker exits.
  The container's init must pass SIGTERM to this process only (``DUMB_INIT_SETSID=0`` for the
  official image's dumb-init), not to the pool's children, or the running tasks die with the worker.

Settings (environment): ECS_AGENT_URI (set by ECS), WORKER_PROTECTION_EXPIRES_MINUTES (default 30),
WORKER_PROTECTION_RENEW_SECONDS (default 600), WORKER_PROTECTION_IDLE_SECONDS (default 10),
WORKER_PROTECTION_CHECK_SECONDS (default 2).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

log = logging.getLogger("worker-protection")

PROTECTION_PATH = "/task-protection/v1/state"


def set_protection(agent_uri: str, enabled: bool, expires_minutes: int, timeout: float = 3.0) -> bool:
    """One call to the ECS agent's protection endpoint; True when the agent confirms the new state."""
    body: dict = {"ProtectionEnabled": enabled}
    if enabled:
        body["ExpiresInMinutes"] = expires_minutes
    request = urllib.request.Request(
        agent_uri.rstrip("/") + PROTECTION_PATH,
        data=json.dumps(body).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply = json.loads(response.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError) as err:
        log.warning("task protection %s failed: %s", "on" if enabled else "off", err)
        return False
    # The agent answers {"protection": {...}} on success, {"failure": {...}} or {"error": {...}} otherwise.
    if "protection" not in reply:
        log.warning("task protection %s refused: %s", "on" if enabled else "off", reply)
        return False
    log.info("task protection %s: %s", "on" if enabled else "off", reply["protection"])
    return True


class ProtectionTracker:
    """Decides when to protect, renew and release; `call(enabled)` does the call, `busy()` says if
    the worker has tasks received or running. Thread-safe: Celery's consumer and the checker thread
    both call in."""

    def __init__(
        self,
        call: Callable[[bool], bool],
        busy: Callable[[], bool],
        renew_seconds: float,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._call, self._busy, self._clock = call, busy, clock
        self._renew, self._idle = renew_seconds, idle_seconds
        self._lock = threading.Lock()
        self.protected = False
        self._protected_at = 0.0
        self._last_busy: float | None = None

    def received(self) -> None:
        """A task arrived: protect now, before it runs (the check thread may be seconds away)."""
        with self._lock:
            self._last_busy = self._clock()
            if not self.protected:
                self._protect()

    def check(self) -> None:
        with self._lock:
            now = self._clock()
            if self._busy():
                self._last_busy = now
                if not self.protected or now - self._protected_at >= self._renew:
                    self._protect()
            elif self.protected and (self._last_busy is None or now - self._last_busy >= self._idle):
                if self._call(False):
                    self.protected = False

    def release(self) -> None:
        with self._lock:
            if self.protected and self._call(False):
                self.protected = False

    def _protect(self) -> None:
        if self._call(True):
            self.protected = True
            self._protected_at = self._clock()


def _celery_busy() -> bool:
    from celery.worker import state

    return bool(state.active_requests or state.reserved_requests)


def _running_count() -> int:
    from celery.worker import state

    return len(state.active_requests)


def install(env=os.environ) -> ProtectionTracker | None:
    """Connects the hooks to Celery's signals (in this, the worker's main process)."""
    from celery import signals

    agent = env.get("ECS_AGENT_URI")
    if not agent:
        log.info("ECS_AGENT_URI is not set (not on ECS): no task scale-in protection")
        return None
    expires = int(env.get("WORKER_PROTECTION_EXPIRES_MINUTES", "30"))
    tracker = ProtectionTracker(
        call=lambda enabled: set_protection(agent, enabled, expires),
        busy=_celery_busy,
        renew_seconds=float(env.get("WORKER_PROTECTION_RENEW_SECONDS", "600")),
        idle_seconds=float(env.get("WORKER_PROTECTION_IDLE_SECONDS", "10")),
    )
    interval = float(env.get("WORKER_PROTECTION_CHECK_SECONDS", "2"))
    stop = threading.Event()

    def checker() -> None:
        while not stop.wait(interval):
            try:
                tracker.check()
            except Exception:  # never let the checker die: the next check retries
                log.exception("task protection check failed")

    def on_ready(**_kwargs) -> None:
        # Also to the process's own stderr: Celery and Airflow may reroute logging, and the drills wait for it.
        print(f"task protection checks every {interval} s through {agent}", file=sys.__stderr__, flush=True)
        threading.Thread(target=checker, name="task-protection", daemon=True).start()

    def on_received(**_kwargs) -> None:
        tracker.received()

    def on_shutting_down(sig=None, how=None, **_kwargs) -> None:
        log.warning(
            "%s shutdown on %s: no new tasks; %d running will finish before the worker exits",
            how,
            sig,
            _running_count(),
        )

    def on_shutdown(**_kwargs) -> None:
        stop.set()
        tracker.release()

    signals.worker_ready.connect(on_ready, weak=False)
    signals.task_received.connect(on_received, weak=False)
    signals.worker_shutting_down.connect(on_shutting_down, weak=False)
    signals.worker_shutdown.connect(on_shutdown, weak=False)
    return tracker


def main(argv: list) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install()
    sys.argv = ["airflow", *argv]
    from airflow.__main__ import main as airflow_main

    airflow_main()


if __name__ == "__main__":
    main(sys.argv[1:])
