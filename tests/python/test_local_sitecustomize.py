"""The Airflow processes of ``npm run local`` start with fewer garbage collections.

scripts/local/units.ts puts scripts/local/python on their PYTHONPATH (LOCAL_DIFFERENCES); CPython then
imports its sitecustomize.py at start-up. Here a real interpreter is started as the runner starts one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "scripts" / "local" / "python"


def thresholds(pythonpath: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    return subprocess.run(
        [sys.executable, "-c", "import gc; print(gc.get_threshold())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_the_local_pythonpath_raises_the_collector_thresholds() -> None:
    assert thresholds(str(SITE)) == "(50000, 20, 20)"


def test_without_it_python_keeps_its_defaults() -> None:
    assert thresholds(None) == "(700, 10, 10)"
