"""LIST-PAGING over every list answer of the run, filtered or not, whoever sent it (the
scenarios, the property tests, the client library): ``page_info.page`` is the page the request
asked for, and ``total_page`` agrees with ``total_results`` and ``limit_per_page`` within the
answer. Neither depends on what other users do to the account between two requests.

Runs near the end, from the run's transcript; an answer whose body the transcript had to
shorten is not judged here. A request whose ``page`` is not one plain page number (absent
means 1) asked for no page this can hold the answer to (a target may read it leniently).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conformance import checks
from conformance.clauses import ContractViolation
from conformance.run.state import Subjects
from conformance.settings import Settings
from conformance.subjects import subject
from conformance.wire.transcript import Exchange, Transcript

pytestmark = [pytest.mark.list, pytest.mark.clause("LIST-PAGING")]
_ACCOUNTS = frozenset({"primary", "second"})
_PAGE = re.compile(r"^[1-9][0-9]{0,9}$")
MAX_PAGE = 2_147_483_647
HEAD = "every list answer of the run"


def _asked(url: str) -> int | None:
    """The page a list request asked for (None: not one plain page number)."""
    pages = parse_qs(urlsplit(url).query, keep_blank_values=True).get("page")
    if pages is None:
        return 1
    if len(pages) != 1 or not _PAGE.match(pages[0]) or int(pages[0]) > MAX_PAGE:
        return None
    return int(pages[0])


def _answers(transcript: Transcript, settings: Settings) -> Iterator[tuple[int, httpx.Response]]:
    """Every whole 200 list answer with an account's key, and the page it asked for."""
    base = urlsplit(settings.base_url or "").path.rstrip("/")
    for exchange in transcript.since(0):
        if exchange.status != 200 or exchange.method != "GET" or exchange.response_truncated \
                or exchange.key_label not in _ACCOUNTS \
                or urlsplit(exchange.url).path.removeprefix(base) != "/tasks":
            continue
        asked = _asked(exchange.url)
        if asked is not None:
            yield asked, _as_answer(exchange)


def _as_answer(exchange: Exchange) -> httpx.Response:
    answer = httpx.Response(200, content=exchange.response_body.encode("utf-8"),
                            headers={"content-type": "application/json"},
                            request=httpx.Request(exchange.method, exchange.url))
    answer.extensions["conformance.exchange"] = exchange
    return answer


def _page_info(answer: httpx.Response) -> dict[str, object] | None:
    """The answer's body when its page_info holds four integers (else LIST-SHAPE's)."""
    try:
        body = json.loads(answer.content)
    except ValueError:
        return None
    info = body.get("page_info") if isinstance(body, dict) else None
    names = ("limit_per_page", "page", "total_page", "total_results")
    if not isinstance(info, dict) or not all(isinstance(info.get(n), int)
                                             and not isinstance(info.get(n), bool)
                                             for n in names):
        return None
    return body


def test_every_list_answer_of_the_run_is_the_page_asked_with_totals_that_agree(
        transcript: Transcript, settings: Settings, judged: Subjects) -> None:
    found: list[ContractViolation] = []
    judged_count = 0
    for asked, answer in _answers(transcript, settings):
        body = _page_info(answer)
        if body is None:
            continue
        judged_count += 1
        try:
            checks.page_number_is_the_one_asked(body, asked, answer)
            checks.page_info_totals_agree(body, answer)
        except ContractViolation as exc:
            found.append(exc)
    if found:
        more = f" (and {len(found) - 1} more answer(s) of the run like it)" \
            if len(found) > 1 else ""
        first = found[0]
        raise ContractViolation("LIST-PAGING", first.message + more,
                                reproduce=first.reproduce, evidence=first.evidence,
                                judged_by=first.judged_by)
    if not judged_count:
        pytest.skip("not judged: the run read no list answer whole")
    judged.add("LIST-PAGING", subject("LIST-PAGING", HEAD, "page_info.page as asked"))
    judged.add("LIST-PAGING", subject("LIST-PAGING", HEAD, "total_page of total_results"))
