"""The bytes the suite uploads: a short valid MP4 for ready tasks, undecodable bytes for failed."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sample_video() -> bytes:
    """The committed 5 s, 480x360, H.264 MP4 (made by ``scripts/make_sample_video.py``)."""
    return resources.files("conformance").joinpath("data/sample.mp4").read_bytes()


@cache
def undecodable_bytes() -> bytes:
    """Plain text that no container format claims: a decoder must give up on it.

    It starts with text (no MP4 ``ftyp``, Matroska, RIFF, Ogg or FLV signature) and its filler
    holds no 0x47 byte, so it cannot pass for an MPEG transport stream either.
    """
    header = b"tasks-conformance: these bytes are deliberately not a video.\n"
    filler = b"This upload exists to become a failed task; nothing here decodes.\n" * 24
    return header + filler
