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

Usage: python scripts/local/moto_server.py PORT [STATE_FILE]
"""

from __future__ import annotations

import ipaddress
import os
import pickle
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "moto"))

from moto.backends import get_backend  # noqa: E402
from moto.core.base_backend import BackendDict  # noqa: E402
from moto.ec2.models.subnets import Subnet  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

import moto_sagemaker  # noqa: E402
from moto_fargate import FargateEmulator  # noqa: E402

SAVE_EVERY_SECONDS = 5


class Patches:
    """The gap-fillers' patches, for good (tools/moto/moto_patching.py): the server never undoes them."""

    def setattr(self, target: object, name: str, value: Any) -> None:
        setattr(target, name, value)


def _subnet_getstate(self: Subnet) -> dict[str, Any]:
    # The only thing in moto's EC2 that pickle refuses: the generator of a subnet's next free address.
    state = dict(self.__dict__)
    state["_subnet_ip_generator"] = None
    return state


def _subnet_setstate(self: Subnet, state: dict[str, Any]) -> None:
    self.__dict__.update(state)
    # Addresses are handed out in order, skipping those in use (get_available_subnet_ip checks
    # _subnet_ips): start again after the three AWS reserves.
    hosts = ipaddress.ip_network(str(self.cidr)).hosts()
    for _ in range(3):
        next(hosts)
    self._subnet_ip_generator = hosts


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


def dump() -> bytes | None:
    for _ in range(5):  # a request may change a dict while it is pickled: try again
        try:
            return pickle.dumps(snapshot(), protocol=pickle.HIGHEST_PROTOCOL)
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


def restore_state(path: Path) -> int:
    """Loads what save_state wrote; returns how many backends it restored."""
    if not path.exists():
        return 0
    services = pickle.loads(path.read_bytes())
    count = 0
    for service, backends in services.items():
        backend_dict = get_backend(service)  # type: ignore[call-overload]
        for account, region, backend in backends:
            account_backends = backend_dict[account]
            dict.__setitem__(account_backends, region, backend)
            count += 1
    return count


def main() -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    port = int(sys.argv[1])
    state_file = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    patches = Patches()
    FargateEmulator().install(patches)
    moto_sagemaker.install(patches, polls=2)
    restored = restore_state(state_file) if state_file else 0
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on http://127.0.0.1:{port} ({restored} backends restored)", flush=True)
    stop = threading.Event()

    def save_periodically() -> None:
        last = state_file.read_bytes() if state_file and state_file.exists() else b""
        while not stop.wait(SAVE_EVERY_SECONDS):
            current = dump()
            if current is not None and current != last and state_file:
                save_state(state_file, current)
                last = current

    if state_file:
        threading.Thread(target=save_periodically, daemon=True).start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})  # serve until `npm run local -- down`
    stop.set()
    if state_file:
        save_state(state_file)
        print(f"moto state saved to {state_file}", flush=True)
    # No graceful stop of the HTTP server (it waits for its poll loop): the state is saved, exit now.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
