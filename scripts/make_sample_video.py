"""Regenerate conformance/data/sample.mp4, the upload that becomes a ready task.

The contract asks for at least 4 s, at least 360x360, H.264 in MP4; the file is kept tiny
(a flat colour with one moving box, 2 frames per second) so uploads cost almost nothing
against a live account. Needs the ``media`` extra: ``pip install -e '.[media]'``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

OUT = Path(__file__).resolve().parent.parent / "conformance" / "data" / "sample.mp4"


def main() -> None:
    source = "color=c=0x2060a0:s=480x360:r=2:d=5,drawbox=x=t*80:y=140:w=80:h=80:color=white:t=fill"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", source, "-c:v", "libx264", "-preset", "veryslow", "-crf", "40",
         "-pix_fmt", "yuv420p", "-g", "10", "-movflags", "+faststart",
         "-metadata", "title=conformance-sample", str(OUT)],
        check=True,
    )
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
