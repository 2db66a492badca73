"""The project installs and runs anywhere: as a wheel from any working directory, and editable
from the checkout, with the OpenAPI description as package data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import tomllib
from importlib import resources
from pathlib import Path

import pytest

import conformance
from conformance import spec

REPO = Path(__file__).resolve().parents[1]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWELVELABS_", "CONFORMANCE_", "PYTHONPATH", "VIRTUAL_ENV"))}
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


def test_every_package_of_the_source_tree_is_listed_in_pyproject() -> None:
    listed = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(init.parent.relative_to(REPO).parts)
             for init in (REPO / "conformance").rglob("__init__.py")}
    missing = found - set(listed["packages"])
    assert not missing, (f"packages missing from [tool.setuptools] packages in pyproject.toml "
                         f"(a wheel would lack them): {sorted(missing)}")
    assert listed["package-dir"] == {"conformance.specs": "specs"}


def test_the_description_is_package_data_found_through_the_import_system() -> None:
    shipped = spec.spec_path({})
    assert shipped == Path(str(resources.files("conformance.specs") / "tasks.openapi.yaml"))
    # Editable or from the checkout, the package is the repository's own specs/ directory.
    assert shipped.samefile(REPO / "specs" / "tasks.openapi.yaml")
    assert spec.load_spec(shipped)["paths"]


def test_a_missing_description_package_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec, "SPEC_PACKAGE", "conformance.no_such_specs")
    with pytest.raises(spec.SpecError) as raised:
        spec.spec_path({})
    assert "\n" not in str(raised.value) and "CONFORMANCE_SPEC" in str(raised.value)


def _source_copy(destination: Path) -> Path:
    """The checkout without its build leftovers: a stale build/ would leak into the wheel."""
    ignored = shutil.ignore_patterns(".git", ".venv", ".tox", "build", "dist", "*.egg-info",
                                     "reports", "__pycache__", ".*_cache", ".hypothesis")
    return Path(shutil.copytree(REPO, destination, ignore=ignored))


@pytest.mark.slow
def test_the_built_wheel_runs_the_suite_from_any_directory(tmp_path: Path) -> None:
    started = time.monotonic()
    source, dist, venv = _source_copy(tmp_path / "src"), tmp_path / "dist", tmp_path / "venv"
    env = _clean_env()

    def run(*command: str | Path, cwd: Path = tmp_path) -> str:
        done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=600, check=False)
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", dist)
    (wheel,) = dist.glob("tasks_conformance-*.whl")
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # The dependencies come from this environment's site-packages, appended to the fresh
    # venv's path (a plain path line: that directory's own .pth files, this checkout's
    # editable install among them, are not processed): resolving and unpacking them from the
    # index again would cost a minute of CPU and prove nothing about the wheel itself.
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    (Path(site) / "deps-of-the-test-env.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run(python, "-m", "pip", "install", "-q", "--no-deps", wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import conformance.spec as s; print(s.spec_path())", cwd=elsewhere)
    assert Path(where.strip()).is_relative_to(venv), where
    shutil.rmtree(source)  # nothing may still read from a checkout
    run(venv / "bin" / "conformance", "run", "--profile", "quick", "--report-dir",
        tmp_path / "r", cwd=elsewhere)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["exit_code"] == 0
    assert summary["spec_digest"] == spec.spec_digest()
    assert summary["suite_version"] == conformance.__version__
    print(f"wheel built, installed and run in {time.monotonic() - started:.0f} s")
