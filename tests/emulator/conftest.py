"""Fixtures for the emulator's own tests: an in-process app on a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from emulator_support import SECOND_KEY, Api, InProcess

from conformance.emulator import DEFAULT_API_KEY, create_app
from conformance.emulator.lifecycle import Clock


@pytest.fixture
def make_api() -> Iterator[Callable[..., Api]]:
    clients: list[InProcess] = []

    def make(**options: Any) -> Api:
        clock = options.pop("clock", None) or Clock.manual()
        options.setdefault("api_keys", (DEFAULT_API_KEY, SECOND_KEY))
        client = InProcess(create_app(clock=clock, **options))
        clients.append(client)
        return Api(client, clock)

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


@pytest.fixture
def index(api: Api) -> str:
    return api.create_index()
