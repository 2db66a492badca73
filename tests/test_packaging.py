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
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import head_start
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


NEWEST_PYTEST = "9.2.0"
"""The newest pytest pyproject's range allows (``pytest>=8.4,<9.3``)."""
ONLY_THE_SDK_NEEDS = ("twelvelabs", "pydantic", "pydantic_core", "httpx_sse")
NOT_OURS = ("tasks_conformance", "__editable__", "_tasks_conformance", "pytest-", "pytest_")
"""This checkout's own install, and pytest plugins the suite does not depend on..."""
PLUGINS_OF_OURS = ("pytest_html", "pytest_metadata")
"""...but for pytest-html (and the pytest-metadata it needs): report.html is its page."""


def _dependencies_without_the_sdk(tmp_path: Path) -> Path:
    """This environment's site-packages seen without the SDK and what only it needs (nor this
    checkout's editable install, nor pytest itself): the dependencies of `pip install .`."""
    kept = tmp_path / "deps"
    kept.mkdir()
    for entry in Path(sysconfig.get_path("purelib")).iterdir():
        name = entry.name.lower().replace("-", "_")
        if name.startswith(ONLY_THE_SDK_NEEDS) or (name.startswith(NOT_OURS) and not
                                                    name.startswith(PLUGINS_OF_OURS)) or \
                name in ("pytest", "_pytest", "py.py") or name.endswith(".pth"):
            continue
        (kept / entry.name).symlink_to(entry)
    return kept


def test_pyproject_states_the_licence_the_entry_point_and_the_sdk_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert "Apache License" in (REPO / "LICENSE").read_text()
    assert project["entry-points"]["pytest11"] == {"conformance.run.plugin":
                                                   "conformance.run.plugin"}
    assert not [d for d in project["dependencies"] if d.startswith(("twelvelabs", "pydantic"))]
    assert [d.split(">")[0] for d in project["optional-dependencies"]["sdk"]] == ["twelvelabs"]
    assert "pytest>=8.4,<9.3" in project["dependencies"]
    assert "pytest-html>=4.2,<5" in project["dependencies"]  # report.html is its page


def test_the_suite_s_node_ids_are_unique_under_the_installed_pytest(tmp_path: Path) -> None:
    """pytest 9.2 gave every generated operation's test one id (run/compat.py mends it)."""
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--report-dir",
                           str(tmp_path), "--", "--collect-only", "-q"], cwd=tmp_path,
                          env=_clean_env(), capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 5, done.stdout[-2000:] + done.stderr  # nothing judged
    ids = [line for line in done.stdout.splitlines() if "::test_" in line]
    assert len(ids) == len(set(ids)) > 50, [i for i in ids if ids.count(i) > 1]
    assert any(i.endswith("[GET /tasks]") for i in ids)


@head_start.for_fixture("wheel_run")
def _wheel_run(root: Path) -> Iterator[str]:
    """Built, installed and run in the background (it mostly waits on pip and the run): the
    checks below run there too, and their failure is the test's."""
    yield _build_install_and_run(root)


@pytest.fixture(scope="module")
def wheel_run() -> Iterator[str]:
    yield from head_start.take(_wheel_run)


@pytest.mark.slow
def test_the_wheel_without_extras_runs_all_but_the_client_category_with_the_newest_pytest(
        wheel_run: str) -> None:
    assert wheel_run.startswith("wheel built, installed without extras and run in ")


def _build_install_and_run(tmp_path: Path) -> str:
    started = time.monotonic()
    source, dist, venv = _source_copy(tmp_path / "src"), tmp_path / "dist", tmp_path / "venv"
    env = _clean_env()

    def run(*command: str | Path, cwd: Path = tmp_path) -> str:
        done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=600, check=False)
        assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr}"
        return done.stdout

    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", dist)
    (wheel,) = dist.glob("tasks_conformance-*.whl")
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    # The dependencies come from this environment's site-packages (without the SDK, pytest
    # and their kin), appended to the fresh venv's path (a plain path line: that directory's
    # own .pth files are not processed): resolving and unpacking them from the index again
    # would cost a minute of CPU and prove nothing about the wheel itself.
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    deps = _dependencies_without_the_sdk(tmp_path)
    (Path(site) / "deps-of-the-test-env.pth").write_text(f"{deps}\n")
    run(python, "-m", "pip", "install", "-q", "--no-deps", wheel, f"pytest=={NEWEST_PYTEST}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = run(python, "-c", "import conformance.spec as s; print(s.spec_path())", cwd=elsewhere)
    assert Path(where.strip()).is_relative_to(venv), where
    run(python, "-c", "import importlib.util as u; assert u.find_spec('twelvelabs') is None")
    shutil.rmtree(source)  # nothing may still read from a checkout
    out = run(venv / "bin" / "conformance", "run", "--profile", "quick", "--report-dir",
              tmp_path / "r", cwd=elsewhere)
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["exit_code"] == 0, out[-3000:]
    page = (tmp_path / "r" / "report.html").read_text()
    assert 'data-jsonblob="' in page and 'id="cf-banner"' in page  # pytest-html's page
    assert summary["environment"]["pytest"] == NEWEST_PYTEST
    assert summary["environment"]["twelvelabs"] == "not installed"
    assert summary["spec_digest"] == spec.spec_digest()
    assert summary["suite_version"] == conformance.__version__
    client = [t for t in summary["tests"] if "client" in t["categories"]]
    others = [t for t in summary["tests"] if "client" not in t["categories"]
              and t["clauses"] != ["RATE-LIMIT"]]
    assert client and all(t["outcome"] == "disabled" and "install the sdk extra" in t["message"]
                          for t in client)
    assert others and all(t["outcome"] == "passed" for t in others), [
        (t["nodeid"], t["outcome"]) for t in others if t["outcome"] != "passed"]
    metadata = run(python, "-c", "from importlib.metadata import metadata as m; "
                   "d = m('tasks-conformance'); print(d['License-Expression']); "
                   "print(d.get_all('Requires-Dist'))")
    assert metadata.startswith("Apache-2.0\n") and "twelvelabs" in metadata and \
        "extra == \"sdk\"" in metadata
    return f"wheel built, installed without extras and run in {time.monotonic() - started:.0f} s"
