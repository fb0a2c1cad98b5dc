"""requirements.lock holds on every Python that pyproject.toml admits (3.11 to 3.13).

For each version, pip resolves the lock's lines for that version (their markers evaluated
for it) without installing: each pin must have a wheel for that Python (or be a pure
Python source archive, :data:`SOURCE_ONLY`) and accept it (Requires-Python). From the metadata pip reports, the dependency closure of
pyproject.toml's requirements (with the dev extra) is walked with the markers evaluated
for that version: every package it needs must be pinned at a version it accepts, and
nothing else may be pinned. pip itself evaluates markers for the running interpreter,
not for --python-version (pypa/pip#11010), hence the walk here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTHONS = ["3.11", "3.12", "3.13"]
#: Pins published as a source archive only, pure Python (its metadata is read from it).
SOURCE_ONLY = ["jieba", "pyspark"]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _lowest_admitted(minor: str) -> str:
    """The first release of `minor` that requires-python admits (the one lower bounds bite)."""
    spec = SpecifierSet(_project()["requires-python"])
    for micro in range(30):
        if spec.contains(f"{minor}.{micro}"):
            return f"{minor}.{micro}"
    pytest.fail(f"requires-python {spec} admits no Python {minor}")


def _environment(full_version: str) -> dict[str, str]:
    env = dict(default_environment())
    minor = ".".join(full_version.split(".")[:2])
    env.update(
        python_version=minor, python_full_version=full_version, implementation_version=full_version
    )
    return env


def _pins(env: dict[str, str]) -> dict[str, tuple[str, Version]]:
    """The lock's lines whose markers hold in `env`: canonical name -> (name, version)."""
    pins: dict[str, tuple[str, Version]] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        req = Requirement(line)
        (spec,) = req.specifier
        assert spec.operator == "==", f"requirements.lock: {line!r} is not an exact pin"
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name not in pins, f"requirements.lock pins {req.name} twice for one Python"
            pins[name] = (req.name, Version(spec.version))
    return pins


def _pip_metadata(full_version: str, pins: dict, tmp_path: Path) -> dict[str, dict]:
    """pip's report for the pins on that Python (no install): canonical name -> metadata."""
    requirements = tmp_path / "lock.txt"
    requirements.write_text("".join(f"{name}=={version}\n" for name, version in pins.values()))
    report = tmp_path / "report.json"
    # generous timeout: only there so a stuck index cannot hang the suite
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-deps"]
        + ["--only-binary=:all:", *[f"--no-binary={name}" for name in SOURCE_ONLY]]
        + ["--python-version", full_version]
        + ["--target", str(tmp_path / "target"), "--quiet", "--disable-pip-version-check"]
        + ["--report", str(report), "-r", str(requirements)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    errors = "\n".join(line for line in done.stderr.splitlines() if "ERROR" in line)
    installed = done.returncode == 0
    assert installed, f"the lock does not install on Python {full_version}:\n{errors}"
    found = {}
    for item in json.loads(report.read_text())["install"]:
        found[canonicalize_name(item["metadata"]["name"])] = item["metadata"]
    assert set(found) == set(pins)
    return found


@pytest.mark.parametrize("minor", PYTHONS)
def test_requires_python_admits_the_tested_versions_only(minor):
    spec = SpecifierSet(_project()["requires-python"])
    assert _lowest_admitted(minor)
    assert not spec.contains("3.10.99") and not spec.contains("3.14.0")


@pytest.mark.slow
@pytest.mark.parametrize("minor", PYTHONS)
def test_lock_covers_the_dependency_closure(minor, tmp_path):
    full_version = _lowest_admitted(minor)
    env = _environment(full_version)
    pins = _pins(env)
    metadata = _pip_metadata(full_version, pins, tmp_path)

    project = _project()
    todo = [(Requirement(r), frozenset(), "pyproject.toml") for r in project["dependencies"]]
    todo += [
        (Requirement(r), frozenset(), "pyproject.toml [dev]")
        for r in project["optional-dependencies"]["dev"]
    ]
    visited: dict[str, set[str]] = {}  # canonical name -> extras whose requirements were added
    problems = []
    while todo:
        req, parent_extras, needed_by = todo.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({**env, "extra": extra}) for extra in {"", *parent_extras}
        ):
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req} (needed by {needed_by}) is not in the lock")
            continue
        version = pins[name][1]
        if not req.specifier.contains(version, prereleases=True):
            problems.append(f"{needed_by} needs {req}, the lock has {version}")
        extras = {canonicalize_name(extra) for extra in req.extras}
        if name in visited and extras <= visited[name]:
            continue
        visited.setdefault(name, set()).update(extras)
        for dep in metadata[name].get("requires_dist") or []:
            todo.append((Requirement(dep), frozenset(visited[name]), f"{req.name}=={version}"))

    assert not problems, f"Python {full_version}:\n" + "\n".join(sorted(set(problems)))
    unneeded = sorted(pins[name][0] for name in set(pins) - set(visited))
    assert not unneeded, f"Python {full_version} needs none of {unneeded}; give them a marker"
