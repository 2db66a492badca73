"""Creates that must make nothing (a rejected create, one without a valid key, another
account's into the owner's index), each uploading a file under a name no upload ever had,
then looked for by that name anywhere in the account (the ``filename`` filter), so that a
task made in another index than the request named is found too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.resources.cleanup import answer_json
from conformance.resources.ledger import Ledger
from conformance.resources.survey import FilenameFilter
from conformance.wire.client import ApiClient

__all__ = ["RefusedCreate", "create_that_must_make_nothing"]


@dataclass
class RefusedCreate:
    """One create that must make nothing, and what was found of it afterwards."""

    filename: str | None
    response: httpx.Response
    found: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(whose list showed it, the task) for each task found under the unique filename."""
    unlooked: str | None = None
    """Why it could not be looked for anywhere in the account (None: it was)."""

    def made(self) -> str | None:
        """What the create made, in words (None: nothing was seen)."""
        body = answer_json(self.response)
        if self.response.is_success and isinstance(body.get("_id"), str):
            return f"its answer names task {body['_id']}"
        if self.found:
            return "; ".join(f"{who} shows task {item.get('_id')} of index "
                             f"{item.get('index_id')} under the file's name {self.filename}"
                             for who, item in self.found)
        return None


def create_that_must_make_nothing(send: Callable[[str | None], httpx.Response],
                                  filename: str | None, lookups: Sequence[tuple[str, ApiClient]],
                                  by_name: FilenameFilter, ledger: Ledger,
                                  index_id: str | None) -> RefusedCreate:
    """``send(filename)`` the create, then look for ``filename`` in each lookup's account
    (``(whose, client)``). Whatever it made goes into the ledger, for cleanup."""
    response = send(filename)
    found = RefusedCreate(filename, response)
    body = answer_json(response)
    if response.is_success and isinstance(body.get("_id"), str):
        ledger.add("task", body["_id"], index_id=index_id or "")
        if isinstance(body.get("video_id"), str) and index_id:
            ledger.add("video", body["video_id"], index_id=index_id, task_id=body["_id"])
    if filename is None:
        found.unlooked = "it uploaded no file to name it by"
    elif not by_name.works:
        found.unlooked = f"the filename filter cannot be trusted: {by_name.why}"
    else:
        for who, client in lookups:
            items, _ = by_name.created(client, filename)
            found.found += [(who, item) for item in items]
        for _, item in found.found:
            if isinstance(item.get("_id"), str):
                ledger.add("task", item["_id"], index_id=str(item.get("index_id") or ""))
    return found
