"""The bytes the suite uploads: a short valid MP4 for ready tasks, undecodable bytes for failed;
and the sample at a loopback URL, for a target on this machine to fetch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

SAMPLE_PATH = "/conformance-sample.mp4"


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


class _Sample(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        if self.path.split("?")[0] != SAMPLE_PATH:
            self.send_error(404)
            return
        data = sample_video()
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the run's console is for findings."""


@contextmanager
def served_sample() -> Iterator[str]:
    """The sample video served on a loopback port while the block lasts; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sample)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="sample-video", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{SAMPLE_PATH}"
    finally:
        server.shutdown()
        server.server_close()
