"""The OpenAPI description the property tests run from: where it is, its content, its digest."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

SPEC_ENVIRONMENT = "CONFORMANCE_SPEC"
"""Environment variable naming another description file to test against."""

SPEC_PACKAGE, SPEC_NAME = "conformance.specs", "tasks.openapi.yaml"
"""The shipped description: ``specs/tasks.openapi.yaml`` in the repository, installed as
package data of ``conformance.specs`` (pyproject.toml maps the one onto the other)."""


class SpecError(ValueError):
    """The description file is missing, unreadable or not an OpenAPI 3 document (one line)."""


def spec_path(environ: Mapping[str, str] | None = None) -> Path:
    """The description in use: ``$CONFORMANCE_SPEC`` when set, else the shipped one."""
    environ = os.environ if environ is None else environ
    override = environ.get(SPEC_ENVIRONMENT, "").strip()
    return Path(override).expanduser() if override else _shipped()


def _shipped() -> Path:
    # Through the import system, not relative to this file: a wheel has no specs/ beside the
    # package, and an editable install maps conformance.specs onto the checkout's specs/.
    try:
        found = resources.files(SPEC_PACKAGE).joinpath(SPEC_NAME)
    except ModuleNotFoundError:
        # An editable install made before conformance.specs existed lacks the mapping.
        raise SpecError(f"the package {SPEC_PACKAGE} is not installed: (re)install the "
                        f"project (pip install -e . in a checkout), or name a description in "
                        f"${SPEC_ENVIRONMENT}") from None
    # Installed packages are directories, so this is a real file that schemathesis and the
    # digest can open by path.
    return Path(str(found))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"OpenAPI description not found: {path}") from None
    except IsADirectoryError:
        raise SpecError(f"OpenAPI description is a directory, not a file: {path}") from None
    except OSError as exc:
        raise SpecError(f"cannot read OpenAPI description {path}: {exc.strerror}") from None


def spec_digest(path: Path | None = None) -> str:
    """SHA-256 (hex) of the file's bytes, so a report says exactly which description it used."""
    return hashlib.sha256(_read(path or spec_path())).hexdigest()


def load_spec(path: Path | None = None) -> dict[str, Any]:
    """The parsed description; raises :class:`SpecError` unless it looks like OpenAPI 3."""
    path = path or spec_path()
    raw = _read(path)
    try:
        document = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        # The parser's own message spans several lines; a usage error must fit on one.
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise SpecError(f"{path}: not valid YAML{where}: {exc.problem}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SpecError(f"{path}: not valid YAML: {first_line}") from None
    if not isinstance(document, dict):
        raise SpecError(f"{path}: expected an OpenAPI document (a mapping), got "
                        f"{type(document).__name__}")
    version = document.get("openapi")
    if not isinstance(version, str) or not version.startswith("3."):
        raise SpecError(f"{path}: not an OpenAPI 3 document (openapi: {version!r})")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        raise SpecError(f"{path}: the document declares no paths")
    return document
