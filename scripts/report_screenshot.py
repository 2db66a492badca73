"""Look at a report as a person does: headless Chromium renders it, and this prints what the
first screen holds and saves a screenshot.

Needs Debian's chromium (`apt-get install -y chromium`). With no report given it runs the
suite against the embedded emulator first.
Run: .venv/bin/python scripts/report_screenshot.py [reports/report.html] [--png first.png]
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1280,900"]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        raise SystemExit("report_screenshot: chromium is not installed (apt-get install -y "
                         "chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, check=False)


class FirstScreen(HTMLParser):
    """The order of the landmarks in the rendered page, and where the environment table is."""

    LANDMARKS = frozenset({"cf-banner", "cf-target", "clause-matrix", "environment",
                           "results-table"})

    def __init__(self) -> None:
        super().__init__()
        self.order: list[str] = []
        self.open_details = 0
        self.environment_collapsed = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs).get("id")
        if tag == "details":
            self.open_details += 1
        if found in self.LANDMARKS:
            self.order.append(found)
            if found == "environment":
                self.environment_collapsed = self.open_details > 0

    def handle_endtag(self, tag: str) -> None:
        if tag == "details":
            self.open_details -= 1


def rendered_landmarks(report: Path) -> FirstScreen:
    """The landmarks of the page after its scripts ran (Chromium's DOM, not the file)."""
    done = chromium("--dump-dom", report.resolve().as_uri())
    screen = FirstScreen()
    screen.feed(done.stdout)
    return screen


# Measured in the page itself once pytest-html has rendered the rows (its script runs inline,
# before this one): every block of a result's details must fit the page's width.
_MEASURE = """<script>window.addEventListener('load', function () {
  var wide = [], limit = document.documentElement.clientWidth;
  document.querySelectorAll('.extras-row pre, .extras-row .log, .cf-evidence').forEach(
    function (e) {
      if (e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > limit + 1) {
        wide.push((e.className || e.tagName) + ': ' + e.textContent.slice(0, 60));
      }
    });
  document.body.setAttribute('data-wide', JSON.stringify(wide));
});</script>"""


def wide_blocks(report: Path) -> list[str]:
    """The blocks of the results' details (evidence, failure text, transcripts) wider than
    the page in Chromium: text that runs off the right edge instead of wrapping."""
    page = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="report-") as where:
        copy = Path(where) / report.name
        copy.write_text(page.replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
        dom = chromium("--dump-dom", copy.as_uri()).stdout
    found = re.search(r'data-wide="([^"]*)"', dom)
    if found is None:
        raise SystemExit("report_screenshot: the page was not measured")
    return [str(line) for line in json.loads(html.unescape(found.group(1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("report", nargs="?", type=Path)
    parser.add_argument("--png", type=Path, default=Path("reports/first-screen.png"))
    args = parser.parse_args()
    report = args.report
    if report is None:
        report = Path("reports/report.html")
        subprocess.run([sys.executable, "-m", "conformance", "run", "--report-dir", "reports"],
                       check=False)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    chromium(f"--screenshot={args.png.resolve()}", report.resolve().as_uri())
    screen = rendered_landmarks(report)
    print(f"screenshot of the first screen: {args.png}")
    print(f"landmarks in page order: {', '.join(screen.order)}")
    print(f"environment table collapsed: {screen.environment_collapsed}")
    wide = wide_blocks(report)
    print(f"details wider than the page: {len(wide)}")
    for line in wide[:10]:
        print(f"  {line}")
    leads = screen.order[:3] == ["cf-banner", "cf-target", "clause-matrix"]
    return 0 if leads and screen.environment_collapsed and not wide else 1


if __name__ == "__main__":
    sys.exit(main())
