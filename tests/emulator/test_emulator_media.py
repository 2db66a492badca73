"""The upload sniffer: the committed sample and crafted boxes, each judged as the service would."""

from __future__ import annotations

import struct

import pytest
from emulator_support import SAMPLE

from conformance.emulator.media import probe_upload, probe_url


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(body), kind) + body


def mp4(seconds: float, width: int, height: int, *, timescale: int = 1000,
        handler: bytes = b"vide") -> bytes:
    mvhd = struct.pack(">IIIII", 0, 0, 0, timescale, int(seconds * timescale)) + bytes(80)
    tkhd = struct.pack(">IIIIII", 0, 0, 0, 1, 0, 0) + bytes(8 + 8 + 36) + struct.pack(
        ">II", width << 16, height << 16)
    hdlr = struct.pack(">II4s", 0, 0, handler) + bytes(12)
    trak = box(b"trak", box(b"tkhd", tkhd) + box(b"mdia", box(b"hdlr", hdlr)))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isom") + box(b"moov", box(b"mvhd", mvhd) + trak)


def test_the_committed_sample_is_a_usable_five_second_480x360_video() -> None:
    probe = probe_upload(SAMPLE)
    assert (probe.failure, probe.duration, probe.width, probe.height) == (None, 5.0, 480, 360)


@pytest.mark.parametrize(("video", "failure"), [
    (mp4(10, 1280, 720), None),
    (mp4(3.5, 1280, 720), "video_duration_too_short"),
    (mp4(5 * 3600, 1280, 720), "video_duration_too_long"),
    (mp4(10, 320, 240), "video_resolution_too_low"),
    (mp4(10, 7680, 4320), "video_resolution_too_high"),
    (mp4(10, 2160, 3840), None),  # portrait 4K is within the limits
    (mp4(10, 1280, 720, handler=b"soun"), "video_file_broken"),  # no video track
    (mp4(10, 1280, 720)[:-10], "video_file_broken"),  # truncated
    (mp4(10, 1280, 720, timescale=0), "video_file_broken"),
    (b"\x1a\x45\xdf\xa3" + bytes(40), None),  # EBML: WebM/Matroska
    (b"plain text, not a video", "video_file_broken"),
    (b"", "video_file_broken"),
], ids=["hd", "short", "long", "small", "8k", "portrait-4k", "no-video-track", "truncated",
        "zero-timescale", "webm", "text", "empty"])
def test_uploads_are_judged_by_the_documented_limits(video: bytes, failure: str | None) -> None:
    assert probe_upload(video).failure == failure


def test_a_crafted_video_reports_its_duration_and_size() -> None:
    probe = probe_upload(mp4(12.5, 1920, 1080))
    assert (probe.duration, probe.width, probe.height) == (12.5, 1920, 1080)


@pytest.mark.parametrize(("url", "usable"), [
    ("https://example.com/a/clip.mp4", True),
    ("https://example.com/clip.MOV?sig=1", True),
    ("https://example.com/clip.webm", True),
    ("https://example.com/page.html", False),
    ("https://example.com/", False),
])
def test_urls_with_a_video_extension_count_as_fetchable(url: str, usable: bool) -> None:
    assert (probe_url(url).failure is None) is usable
