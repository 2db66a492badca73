"""Upload sniffing: container type, and for MP4/MOV the duration and picture size from its boxes."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import PurePosixPath

MIN_DURATION = 4.0
MAX_DURATION = 4 * 3600.0
MIN_SIDE = 360
MAX_LONG_SIDE, MAX_SHORT_SIDE = 3840, 2160
VIDEO_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".wmv", ".flv", ".mpg", ".mpeg",
    ".3gp", ".ts", ".mts", ".ogv",
})
_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"udta"})


@dataclass(frozen=True, slots=True)
class Probe:
    """What the emulator learnt from a video source: a failure code, or usable metadata."""

    failure: str | None
    duration: float | None = None
    width: int | None = None
    height: int | None = None

    def message(self) -> str:
        return _MESSAGES.get(self.failure or "", "")


_MESSAGES = {
    "video_file_broken": "The video file is broken or is not a supported container.",
    "video_duration_too_short": f"The video is shorter than {MIN_DURATION:g} seconds.",
    "video_duration_too_long": f"The video is longer than {MAX_DURATION:g} seconds.",
    "video_resolution_too_low": f"The video resolution is below {MIN_SIDE}x{MIN_SIDE}.",
    "video_resolution_too_high":
        f"The video resolution is above {MAX_LONG_SIDE}x{MAX_SHORT_SIDE}.",
    "video_url_unreachable": "The video URL could not be fetched.",
}


class BrokenMedia(ValueError):
    pass


def probe_upload(data: bytes) -> Probe:
    """Judge uploaded bytes the way the service's validation step would."""
    if _is_ebml(data):
        # Matroska/WebM metadata is not parsed: the container alone is taken as usable.
        return Probe(None)
    if len(data) < 8 or data[4:8] != b"ftyp":
        return Probe("video_file_broken")
    try:
        duration, width, height = _parse_iso_bmff(data)
    except (BrokenMedia, struct.error):
        return Probe("video_file_broken")
    return judge(duration, width, height)


def judge(duration: float, width: int, height: int) -> Probe:
    """Apply the documented limits to a parsed video."""
    failure = None
    if duration < MIN_DURATION:
        failure = "video_duration_too_short"
    elif duration > MAX_DURATION:
        failure = "video_duration_too_long"
    elif min(width, height) < MIN_SIDE:
        failure = "video_resolution_too_low"
    elif max(width, height) > MAX_LONG_SIDE or min(width, height) > MAX_SHORT_SIDE:
        failure = "video_resolution_too_high"
    return Probe(failure, duration, width, height)


def probe_url(url: str) -> Probe:
    """URLs cannot be fetched offline: a path with a video extension counts as a good video."""
    from urllib.parse import urlsplit

    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    return Probe(None) if suffix in VIDEO_EXTENSIONS else Probe("video_url_unreachable")


def _is_ebml(data: bytes) -> bool:
    return data[:4] == b"\x1a\x45\xdf\xa3"


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise BrokenMedia(f"box {kind!r} overruns its parent")
        yield kind, pos + header, pos + size
        pos += size
    if pos != end:
        raise BrokenMedia("trailing bytes after the last box")


@dataclass(slots=True)
class _Track:
    handler: bytes = b""
    width: int = 0
    height: int = 0


def _parse_iso_bmff(data: bytes) -> tuple[float, int, int]:
    durations: list[float] = []
    tracks: list[_Track] = []

    def walk(start: int, end: int, track: _Track | None) -> None:
        for kind, body, stop in _boxes(data, start, end):
            if kind == b"mvhd":
                durations.append(_mvhd_duration(data, body))
            elif kind == b"trak":
                tracks.append(_Track())
                walk(body, stop, tracks[-1])
            elif kind == b"tkhd" and track is not None:
                track.width, track.height = _tkhd_size(data, body)
            elif kind == b"hdlr" and track is not None:
                track.handler = data[body + 8:body + 12]
            elif kind in _CONTAINERS:
                walk(body, stop, track)

    walk(0, len(data), None)
    if not durations:
        raise BrokenMedia("no movie header")
    video = [t for t in tracks if t.handler == b"vide" and t.width and t.height]
    if not video:
        raise BrokenMedia("no video track")
    return durations[0], video[0].width, video[0].height


def _mvhd_duration(data: bytes, body: int) -> float:
    if data[body] == 1:
        timescale, duration = struct.unpack_from(">IQ", data, body + 20)
    else:
        timescale, duration = struct.unpack_from(">II", data, body + 12)
    if timescale == 0:
        raise BrokenMedia("movie timescale is zero")
    return duration / timescale


def _tkhd_size(data: bytes, body: int) -> tuple[int, int]:
    # width and height are the last two 16.16 fixed-point fields of the track header
    offset = body + (88 if data[body] == 1 else 76)
    width, height = struct.unpack_from(">II", data, offset)
    return width >> 16, height >> 16
