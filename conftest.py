"""Makes the checkout a pytest rootdir for the suite: ``pytest conformance/suite --target-url URL``.

The conformance plugin acts only when a path inside ``conformance/suite`` is named on the
command line: pytest then loads the suite's conftest before it parses the options, and that is
the moment to ask for a run (and to register the plugin, should the package's pytest11 entry
point not have loaded it). The project's own tests (``pytest``, testpaths = tests) never load
the suite's conftest this early, so the plugin never acts in them: no settings, no embedded
emulator, no preflight.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SUITE_CONFTEST = Path(__file__).resolve().parent / "conformance" / "suite" / "conftest.py"
_CONFIGURED = pytest.StashKey[bool]()


def pytest_plugin_registered(plugin: Any, manager: pytest.PytestPluginManager) -> None:
    if _path_of(plugin) != SUITE_CONFTEST:
        return
    config = manager.get_plugin("pytestconfig")
    if config is None or config.stash.get(_CONFIGURED, False):
        # Past configuration (the suite's conftest found while collecting `pytest .` or
        # `--pyargs`) the plugin's options could no longer be parsed: leave it to `-p`.
        return
    from conformance.run import plugin as conformance_plugin

    # Installed, the plugin is loaded already (pytest11 entry point) but inert: the suite's
    # directory on the command line asks for a run.
    config.stash[conformance_plugin.ACTIVE_KEY] = True
    if not manager.is_registered(conformance_plugin) and manager.get_plugin(
            conformance_plugin.__name__) is None:
        # register, not import_plugin: the suite's conftest imported the module already, and
        # marking it for assertion rewriting now would only warn (the suite judges with
        # ContractViolation, not bare asserts).
        manager.register(conformance_plugin, conformance_plugin.__name__)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CONFIGURED] = True
    if config.pluginmanager.get_plugin("conformance.run.plugin") is not None:
        # A verdict is about the target: a deprecation warning from a library must not turn
        # into a failed test, as pyproject's `filterwarnings = error` (for the project's own
        # tests) would make it. `conformance run` does the same with an empty configuration.
        config.addinivalue_line("filterwarnings", "default")


def _path_of(plugin: Any) -> Path | None:
    file = getattr(plugin, "__file__", None)
    return Path(file).resolve() if isinstance(file, str) else None
