"""The one start-up of a run, for `conformance run` and plain pytest alike.

From settings to a run that can begin: clause IDs known, the deviations file read, a
configured client adapter loadable, the target resolved (the embedded emulator when none is
given) and preflighted. Every problem is a ``SettingsError`` (exit 2) or a ``TargetError``
(exit 2, 3 or 4), raised before any test; an emulator started here is stopped again then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.clauses import CLAUSES
from conformance.run.deviations import Deviations, load_deviations
from conformance.run.report import write_reports
from conformance.run.summary import Summary
from conformance.run.target import EmbeddedTarget, attach_embedded, preflight
from conformance.run.verdict import not_started
from conformance.settings import Settings, SettingsError

__all__ = ["Started", "check_client_adapter", "start", "start_failed"]


@dataclass
class Started:
    """A run ready to begin: its settings (pointed at the target), deviations and, when no
    target was given, the embedded emulator it runs against."""

    settings: Settings
    deviations: Deviations
    embedded: EmbeddedTarget | None = None

    @property
    def target_label(self) -> str:
        where = str(self.settings.base_url)
        return f"embedded emulator at {where}" if self.embedded is not None else where

    def stop(self) -> None:
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None


def start(settings: Settings, clause_ids: Iterable[str] = ()) -> Started:
    """Validate what can be validated before a target is touched, then resolve and preflight
    the target. Raises SettingsError or TargetError."""
    unknown = [cid for cid in clause_ids if cid not in CLAUSES]
    if unknown:
        raise SettingsError(f"unknown clause ID(s) {', '.join(unknown)}")
    deviations = load_deviations(settings.deviations) if settings.deviations else Deviations()
    check_client_adapter(settings)
    settings, embedded = attach_embedded(settings)
    started = Started(settings, deviations, embedded)
    try:
        preflight(settings)
    except BaseException:
        started.stop()
        raise
    return started


def check_client_adapter(settings: Settings) -> None:
    """A configured client adapter that cannot be loaded is a setting error (exit 2) at
    start-up, not an error on every client test; the default SDK adapter loads when used."""
    if settings.client_adapter is None:
        return
    from conformance.clientlib.adapter import AdapterError, load_factory

    try:
        load_factory(settings.client_adapter)
    except AdapterError as exc:
        raise SettingsError(str(exc)) from None


def start_failed(report_dir: Path, code: int, message: str, *, settings: Settings | None = None,
                 mode: str = "conformance run", notes: Iterable[str] = (),
                 interrupted: dict[str, Any] | None = None) -> Summary:
    """A run that ended before its first test still leaves its reports (summary.json,
    junit.xml, report.html) saying what happened; returns their summary."""
    from conformance.run.outcomes import environment

    header: dict[str, Any] = {
        "target": (settings.base_url or "embedded emulator") if settings else "(not known)",
        "suite_version": __version__, "environment": environment(),
        "started_at": dt.datetime.now(dt.UTC).isoformat()}
    extra: dict[str, Any] = {"notes": tuple(notes)}
    if settings is not None:
        header.update(run_id=settings.run_id, profile=settings.profile.name,
                      seed=settings.effective_seed)
        extra["settings"] = settings.redacted()
    summary = not_started(header, code, message, extra=extra, interrupted=interrupted,
                          mode=mode)
    write_reports(summary, report_dir)
    return summary
