"""Hypothesis strategies of task IDs that can never name a real task, safe on a live account.

Live IDs are 24 lowercase hex characters, and every ID-shaped value drawn here starts with
eight zeros: a live ID begins with its creation time in seconds, so such an ID would date
from 1970 and cannot have been issued. Malformed IDs are returned in wire form (already
percent-encoded) and are sent with ``ApiClient.request`` so that the target sees them as
drawn; nothing drawn can climb out of ``/tasks/`` into another resource (dot segments are
drawn alone, never followed by more path).
"""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import strategies as st

ID_LENGTH = 24
IMPOSSIBLE_PREFIX = "00000000"
"""A creation time of 1970: no issued ID starts like this."""
_HEX = "0123456789abcdef"


def _hex(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(_HEX, min_size=min_size, max_size=max_size)


def unknown_task_ids() -> st.SearchStrategy[str]:
    """Well-formed IDs (24 lowercase hex) that cannot exist in any account."""
    return _hex(ID_LENGTH - len(IMPOSSIBLE_PREFIX), ID_LENGTH - len(IMPOSSIBLE_PREFIX)).map(
        lambda tail: IMPOSSIBLE_PREFIX + tail)


def _wrong_length() -> st.SearchStrategy[str]:
    short = _hex(1, ID_LENGTH - 1)
    longer = _hex(ID_LENGTH + 1, 2 * ID_LENGTH).map(lambda s: IMPOSSIBLE_PREFIX + s)
    return st.one_of(short, longer)


def _non_hex() -> st.SearchStrategy[str]:
    wrong = st.text("ghijklmnopqrstuvwxyz_-~", min_size=1, max_size=4)
    return st.tuples(_hex(0, 12), wrong, _hex(0, 12)).map(
        lambda p: (IMPOSSIBLE_PREFIX + "".join(p))[:ID_LENGTH].ljust(ID_LENGTH, "z"))


def _uppercase() -> st.SearchStrategy[str]:
    # Some targets fold case; the impossible prefix keeps even a folded ID unissued.
    tail = st.text("0123456789ABCDEF", min_size=16, max_size=16).filter(
        lambda s: any(c.isalpha() for c in s))
    return tail.map(lambda s: IMPOSSIBLE_PREFIX + s)


def _unicode() -> st.SearchStrategy[str]:
    chars = st.characters(min_codepoint=0xA0, max_codepoint=0x10FFFF, codec="utf-8")
    text = st.text(chars, min_size=1, max_size=24)
    return text.map(lambda s: quote(s, safe=""))


def _encoded_separators() -> st.SearchStrategy[str]:
    sep = st.sampled_from(["%2F", "%2f", "%5C", "%5c", "%3F", "%23", "%00", "%20"])
    return st.tuples(_hex(1, 12), sep, _hex(0, 12)).map(
        lambda p: IMPOSSIBLE_PREFIX + "".join(p))


def _dots() -> st.SearchStrategy[str]:
    return st.sampled_from([".", "..", "...", "%2e", "%2e%2e", "%2E%2E", ".hidden",
                            IMPOSSIBLE_PREFIX + "..", "0000.0000.0000"])


def _very_long() -> st.SearchStrategy[str]:
    # Long enough to stress parsers, short enough to stay under common 8 KB URL limits.
    return st.integers(min_value=256, max_value=2048).flatmap(
        lambda n: st.sampled_from(["0", "a", "z", "%41"]).map(lambda c: c * (n // len(c))))


def _odd_words() -> st.SearchStrategy[str]:
    return st.sampled_from(["", "%20", "null", "undefined", "-1", "0", "true", "%7B%7D",
                            "%5B%5D", "*", "%25", "tasks"])


def malformed_task_ids() -> st.SearchStrategy[str]:
    """Malformed IDs in wire form: wrong length, non-hex, uppercase, non-ASCII, encoded
    separators, dot segments, very long, the empty segment and other odd words."""
    return st.one_of(_wrong_length(), _non_hex(), _uppercase(), _unicode(),
                     _encoded_separators(), _dots(), _very_long(), _odd_words())
