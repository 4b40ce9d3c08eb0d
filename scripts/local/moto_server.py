"""moto's server for `npm run local`, with what moto lacks for the DAGs' ECS and SageMaker calls, and
state that survives a restart.

The same gap-fillers as the Python tests (tools/moto): Fargate tasks really run their container's
command (with this machine's sh) and end, their output reaches CloudWatch Logs as with the awslogs
driver, and SageMaker jobs run for a few polls before they complete. Listens on 127.0.0.1 only.

State: moto 5.1 keeps everything in memory and has no snapshot of its own (its recorder replays
requests, which gives new random ids). Here every backend in use (the VPC, subnets and security
groups the runner created, ECS tasks, SageMaker jobs, S3 objects, secrets, ...) is pickled to STATE_FILE
every few seconds when it changed and when the server stops, and loaded back when it starts, so ids
stay what the metadata database (XComs, Variables) remembers.

Start: the server listens as soon as Secrets Manager's state is back (what the runner reads first,
every container's secrets), about a second after it starts. What a boot uses besides (S3, CloudWatch
and its Logs, IAM: cheap to import) is restored in a thread meanwhile. The rest (EC2 and ECS, whose
modules take most of a second to import and EC2's state over half a second to unpickle, and the
gap-fillers, which import them) is restored on the first request that may need it, a DAG's ECS or
SageMaker call: never during a boot. A request for a service not restored yet waits until it is
(`Gate`), so no request ever sees a partial state; a save writes what is not restored yet as it was
loaded, so no state is lost by not being asked for.

Usage: python scripts/local/moto_server.py PORT [STATE_FILE]
"""

from __future__ import annotations

import ipaddress
import logging
import os
import pickle
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "moto"))

from moto.backends import get_backend  # noqa: E402
from moto.core.base_backend import BackendDict  # noqa: E402
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

SAVE_EVERY_SECONDS = 5
#: Restored before the server listens: the runner resolves every container's secrets from it first.
EARLY_SERVICES = ("secretsmanager",)
#: Restored in a thread once the server listens: what the containers use while they start (DAG files
#: and task logs in S3, the queue metric), by the credential-scope name of their requests. None of them
#: imports EC2. Every other service is restored on its first request (Gate.on_demand).
BACKGROUND_SCOPES = {"s3": "s3", "iam": "iam", "logs": "logs", "monitoring": "cloudwatch"}
#: The service a SigV4-signed request is for, from its credential scope (account/date/region/service).
_SCOPE = re.compile(r"Credential=[^/,]+/\d{8}/[^/,]+/([^/,]+)/aws4_request")


class Patches:
    """The gap-fillers' patches, for good (tools/moto/moto_patching.py): the server never undoes them."""

    def setattr(self, target: object, name: str, value: Any) -> None:
        setattr(target, name, value)


def _subnet_getstate(self: Any) -> dict[str, Any]:
    # The only thing in moto's EC2 that pickle refuses: the generator of a subnet's next free address.
    state = dict(self.__dict__)
    state["_subnet_ip_generator"] = None
    return state


def _subnet_setstate(self: Any, state: dict[str, Any]) -> None:
    self.__dict__.update(state)
    # Addresses are handed out in order, skipping those in use (get_available_subnet_ip checks
    # _subnet_ips): start again after the three AWS reserves.
    hosts = ipaddress.ip_network(str(self.cidr)).hosts()
    for _ in range(3):
        next(hosts)
    self._subnet_ip_generator = hosts


def patch_subnet_pickling() -> None:
    """Before EC2's backends are pickled or unpickled (imports moto's EC2, which takes most of a second)."""
    from moto.ec2.models.subnets import Subnet

    # moto 5.1.22 and later compute the generator on each use (a property): a subnet pickles as it is.
    if not isinstance(getattr(Subnet, "_subnet_ip_generator", None), property):
        Subnet.__getstate__ = _subnet_getstate  # type: ignore[attr-defined]
        Subnet.__setstate__ = _subnet_setstate  # type: ignore[attr-defined]


def snapshot() -> dict[str, list[tuple[str, str, Any]]]:
    """Every backend in use, by service name: (account, region, backend)."""
    services: dict[str, list[tuple[str, str, Any]]] = {}
    for backend_dict in list(BackendDict._instances):
        services[backend_dict.service_name] = list(backend_dict.iter_backends())
    return services


def dump(unrestored: dict[str, bytes] | None = None) -> bytes | None:
    """The state file's content: each service's backends pickled on their own, so that a start can
    restore one service without importing the others' modules. `unrestored`: services loaded but not
    restored yet, written as they were loaded (whatever moto holds for them is not their state)."""
    if "moto.ec2" in sys.modules:  # EC2's backends exist only once its modules are imported
        patch_subnet_pickling()
    for _ in range(5):  # a request may change a dict while it is pickled: try again
        try:
            services = {name: pickle.dumps(b, protocol=pickle.HIGHEST_PROTOCOL) for name, b in snapshot().items()}
            services.update(unrestored or {})
            return pickle.dumps(services, protocol=pickle.HIGHEST_PROTOCOL)
        except RuntimeError:
            continue
    return None


def save_state(path: Path, data: bytes | None = None) -> None:
    data = data if data is not None else dump()
    if data is None:
        return
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def load_state(path: Path) -> dict[str, Any]:
    """What save_state wrote, by service (each still pickled); empty without a state file."""
    return pickle.loads(path.read_bytes()) if path.exists() else {}


def restore_service(service: str, pickled: Any) -> int:
    """Puts one service's saved backends back in moto; returns how many."""
    if service == "ec2":
        patch_subnet_pickling()
    # A state file from before services were pickled one by one holds the backends themselves.
    backends = pickle.loads(pickled) if isinstance(pickled, bytes) else pickled
    backend_dict = get_backend(service)  # type: ignore[call-overload]
    for account, region, backend in backends:
        dict.__setitem__(backend_dict[account], region, backend)
    return len(backends)


def restore_state(path: Path) -> int:
    """Loads what save_state wrote; returns how many backends it restored."""
    return sum(restore_service(service, pickled) for service, pickled in load_state(path).items())


class Gate:
    """Holds each request until the state it may read is back. Secrets Manager's is back before the
    server listens; a background service's request (BACKGROUND_SCOPES) waits for that service; any
    other request (EC2, ECS, SageMaker, moto's own API but its health check, an unsigned request) first
    restores the on-demand services and installs the gap-fillers, once (`on_demand`)."""

    def __init__(self, app: Any, state: dict[str, Any], background: list[str], on_demand: list[str]):
        self.app = app
        self.state = state
        self.background = {service: threading.Event() for service in background}
        self.background_done = threading.Event()
        self._on_demand = list(on_demand)
        self._on_demand_lock = threading.Lock()
        self._on_demand_done = False

    def restored(self, service: str) -> None:
        self.background[service].set()

    def done(self) -> None:
        """Every background service restored."""
        for event in self.background.values():
            event.set()
        self.background_done.set()

    def on_demand(self) -> None:
        """The rest of the state, and the gap-fillers (which patch ECS and SageMaker and write to
        CloudWatch Logs, so after the background services): restored by the first request that needs it."""
        if self._on_demand_done:
            return
        self.background_done.wait()
        with self._on_demand_lock:
            if self._on_demand_done:
                return
            try:
                for service in self._on_demand:
                    restore_service(service, self.state[service])
                install_gap_fillers()
            except Exception as err:  # one line for the runner's log, then the server stops
                print(f"error: moto's state could not be restored: {err}", file=sys.stderr, flush=True)
                os._exit(1)
            self._on_demand_done = True
            print(f"moto state restored on first use: {', '.join(self._on_demand) or 'none saved'}", flush=True)

    def unrestored(self) -> dict[str, bytes]:
        """The on-demand services' saved state until it is restored (what a save writes for them)."""
        return {} if self._on_demand_done else {service: self.state[service] for service in self._on_demand}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope.group(1) if scope else None
        if service in EARLY_SERVICES:
            pass  # restored before the server listened
        elif service in BACKGROUND_SCOPES:
            event = self.background.get(BACKGROUND_SCOPES[service])
            if event:
                event.wait()
        elif not (environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == "/moto-api/"):
            self.on_demand()
        return self.app(environ, start_response)


def install_gap_fillers() -> None:
    """Fargate tasks that run, SageMaker jobs that complete (tools/moto); importing them imports EC2 and ECS."""
    import moto_sagemaker
    from moto_fargate import FargateEmulator

    patches = Patches()
    FargateEmulator().install(patches)
    moto_sagemaker.install(patches, polls=2)


def restore_background(gate: Gate, background: list[str]) -> None:
    """In a thread while the server listens: the background services' state, S3 first (deploy-dags and
    every dag-sync sidecar start with it)."""
    try:
        for service in sorted(background, key=lambda name: name != "s3"):
            restore_service(service, gate.state[service])
            gate.restored(service)
    except Exception as err:  # one line for the runner's log, then the server stops
        print(f"error: moto's state could not be restored: {err}", file=sys.stderr, flush=True)
        os._exit(1)
    print(f"moto state restored: {', '.join(sorted(background)) or 'none saved'}", flush=True)
    gate.done()


def main() -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    port = int(sys.argv[1])
    state_file = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    state = load_state(state_file) if state_file else {}
    for service in EARLY_SERVICES:
        if service in state:
            restore_service(service, state[service])
    # A state file from before services were pickled one by one is loaded whole already: restore it all
    # in the background.
    background = [
        s
        for s in state
        if s not in EARLY_SERVICES and (s in BACKGROUND_SCOPES.values() or not isinstance(state[s], bytes))
    ]
    on_demand = [s for s in state if s not in EARLY_SERVICES and s not in background]
    gate = Gate(DomainDispatcherApplication(create_backend_app), state, background, on_demand)
    server = make_server("127.0.0.1", port, gate, threaded=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    threading.Thread(target=server.serve_forever, daemon=True).start()
    restorer = threading.Thread(target=restore_background, args=(gate, background), daemon=True)
    restorer.start()
    print(f"moto listening on http://127.0.0.1:{port} (restoring {len(state)} services' state)", flush=True)
    stop = threading.Event()

    def save_periodically() -> None:
        gate.background_done.wait()  # never save a state that is not back yet
        last = state_file.read_bytes() if state_file and state_file.exists() else b""
        while not stop.wait(SAVE_EVERY_SECONDS):
            current = dump(gate.unrestored())
            if current is not None and current != last and state_file:
                save_state(state_file, current)
                last = current

    if state_file:
        threading.Thread(target=save_periodically, daemon=True).start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})  # serve until `npm run local -- down`
    stop.set()
    if state_file:
        restorer.join()  # stopped while it restored: save what it restored, all of it
        data = dump(gate.unrestored())
        if data is not None:
            save_state(state_file, data)
        print(f"moto state saved to {state_file}", flush=True)
    # No graceful stop of the HTTP server (it waits for its poll loop): the state is saved, exit now.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
