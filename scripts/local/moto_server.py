"""moto's server for `npm run local`, with what moto lacks for the DAGs' ECS and SageMaker calls.

The same gap-fillers as the Python tests (tools/moto): Fargate tasks really run their container's
command (with this machine's sh) and end, their output reaches CloudWatch Logs as with the awslogs
driver, and SageMaker jobs run for a few polls before they complete. Listens on 127.0.0.1 only.

Usage: python scripts/local/moto_server.py PORT
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "moto"))

from moto.server import ThreadedMotoServer  # noqa: E402

import moto_sagemaker  # noqa: E402
from moto_fargate import FargateEmulator  # noqa: E402


def main() -> int:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    port = int(sys.argv[1])
    patches = pytest.MonkeyPatch()
    FargateEmulator().install(patches)
    moto_sagemaker.install(patches, polls=2)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on http://127.0.0.1:{port}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})  # serve until `npm run local -- down`
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
