"""The Python, Dockerfile and shell linters, on every file of their kind in the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

BIN = Path(sys.executable).parent  # .venv/bin: ruff and hadolint come with the lock


SKIPPED = {".git", "node_modules", ".venv", "bin", ".local", "__pycache__", ".pytest_cache", ".ruff_cache"}


def repository_files() -> list[Path]:
    """Tracked files and new ones not ignored by .gitignore (so node_modules/ and .venv/ stay out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:  # not a git checkout (an unpacked archive): walk the tree instead
        files = []
        for folder, subfolders, names in os.walk(ROOT):
            # .venv-<version>/: the previous Airflow's environment (scripts/ensure-python.sh previous)
            subfolders[:] = [name for name in subfolders if name not in SKIPPED and not name.startswith(".venv-")]
            files += [Path(folder) / name for name in names]
        return sorted(files)
    return [ROOT / name for name in sorted(set(listed.stdout.split("\0"))) if name and (ROOT / name).is_file()]


def shell_scripts() -> list[Path]:
    def is_shell(path: Path) -> bool:
        if path.suffix in {".sh", ".bash"}:
            return True
        with path.open("rb") as file:
            first = file.readline()
        return first.startswith(b"#!") and any(shell in first for shell in (b"bash", b"/sh", b" sh"))

    return [path for path in repository_files() if is_shell(path)]


def dockerfiles() -> list[Path]:
    return [path for path in repository_files() if path.name == "Dockerfile" or path.name.endswith(".Dockerfile")]


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check():
    result = run(BIN / "ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format():
    result = run(BIN / "ruff", "format", "--no-cache", "--check", ".")
    assert result.returncode == 0, f"run `.venv/bin/ruff format .`:\n{result.stdout}{result.stderr}"


def test_hadolint_runs_from_the_environment():
    result = run(BIN / "hadolint", "--version")
    assert result.returncode == 0 and "Haskell Dockerfile Linter" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint(dockerfile):
    result = run(BIN / "hadolint", "--no-color", dockerfile)
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_are_files_to_lint():
    assert [p.relative_to(ROOT).as_posix() for p in dockerfiles()] == ["images/airflow/Dockerfile"]
    names = {p.relative_to(ROOT).as_posix() for p in shell_scripts()}
    assert {".ci/run", "scripts/ensure-python.sh", "scripts/lock-python.sh", "scripts/test-python.sh"} <= names


def test_shellcheck():
    scripts = shell_scripts()
    result = run("shellcheck", "--external-sources", *scripts)
    assert result.returncode == 0, result.stdout + result.stderr
