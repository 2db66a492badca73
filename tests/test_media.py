"""The uploads: a sample the contract accepts as a video, bytes no decoder accepts."""

from __future__ import annotations

import struct

from conformance.resources.media import sample_video, undecodable_bytes


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[bytes, bytes]:
    """The top-level ISO BMFF boxes of ``data[start:end]`` by type (first of each)."""
    found: dict[bytes, bytes] = {}
    end = len(data) if end is None else end
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        if size < 8:
            break
        found.setdefault(kind, data[start + 8:start + size])
        start += size
    return found


def test_sample_is_an_mp4_of_at_least_4_seconds_and_360x360() -> None:
    data = sample_video()
    top = _boxes(data)
    assert top[b"ftyp"][:4] in (b"isom", b"mp42", b"iso5", b"iso6", b"avc1")
    moov = _boxes(top[b"moov"])
    mvhd = moov[b"mvhd"]
    assert mvhd[0] == 0  # version 0: 32-bit times
    timescale, duration = struct.unpack(">II", mvhd[12:20])
    assert 4.0 <= duration / timescale <= 10.0
    tkhd = _boxes(moov[b"trak"])[b"tkhd"]
    width, height = struct.unpack(">II", tkhd[76:84])
    assert (width >> 16, height >> 16) == (480, 360)
    assert b"avc1" in top[b"moov"]  # H.264 sample entry


def test_sample_is_small_and_read_once() -> None:
    assert len(sample_video()) < 100_000
    assert sample_video() is sample_video()


def test_undecodable_bytes_claim_no_container_format() -> None:
    data = undecodable_bytes()
    assert data == undecodable_bytes() and 256 <= len(data) < 10_000
    signatures = (b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"GIF8")
    assert not data.startswith(signatures)
    assert b"ftyp" not in data and b"moov" not in data
    assert 0x47 not in data  # MPEG-TS sync byte
