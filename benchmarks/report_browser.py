"""Open a results folder's report.html in a real headless browser (Chromium) and check
what a reader sees: every figure decoded, no console errors, no sideways scrolling at a
laptop's width; a screenshot is written next to the report.

    python benchmarks/report_browser.py RESULTS_DIR [--width 1280] [--browser PATH]

Needs Chromium (Debian: ``apt-get install chromium``). Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: put first in <head>: records console errors and uncaught errors, then, once the page
#: has loaded, what the checks need, as attributes of <html> that --dump-dom prints
PROBE = """<script>
window.__errors = [];
const __error = console.error.bind(console);
console.error = (...a) => { window.__errors.push(a.join(' ')); __error(...a); };
window.addEventListener('error', e => window.__errors.push(String(e.message || e.type)),
                        true);
window.addEventListener('load', () => {
  const root = document.documentElement;
  const imgs = Array.from(document.images);
  root.setAttribute('data-scroll-width', root.scrollWidth);
  root.setAttribute('data-client-width', root.clientWidth);
  root.setAttribute('data-images', imgs.length);
  root.setAttribute('data-images-ok', imgs.filter(i => i.complete && i.naturalWidth > 0).length);
  root.setAttribute('data-errors', JSON.stringify(window.__errors));
});
</script>"""


def browser(path: str | None) -> str:
    """The Chromium executable to use."""
    for name in ([path] if path else ["chromium", "chromium-browser", "google-chrome"]):
        found = shutil.which(name) if name else None
        if found:
            return found
    sys.exit("no Chromium found: install it (Debian: apt-get install chromium) or give "
             "--browser PATH")


def run(exe: str, *args: str) -> subprocess.CompletedProcess:
    """One headless Chromium call (no sandbox: CI containers run as root)."""
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def check(folder: Path, width: int, exe: str) -> dict:
    """Load the report with the probe, take a screenshot; the measured facts."""
    page = (folder / "report.html").read_text(encoding="utf-8")
    probed = page.replace("<head>", "<head>" + PROBE, 1)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "report.html"
        copy.write_text(probed, encoding="utf-8")
        dom = run(exe, f"--window-size={width},900", "--virtual-time-budget=5000",
                  "--dump-dom", copy.as_uri())
    root = re.search(r"<html[^>]*>", dom.stdout)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', root.group(0) if root else ""))
    shot = folder / "report-screenshot.png"
    run(exe, f"--window-size={width},4000", f"--screenshot={shot}",
        (folder / "report.html").resolve().as_uri())
    errors = json.loads(attrs.get("errors", "[]").replace("&quot;", '"'))
    facts = {"width": width, "scroll_width": int(attrs.get("scroll-width", -1)),
             "client_width": int(attrs.get("client-width", -1)),
             "images": int(attrs.get("images", -1)),
             "images_decoded": int(attrs.get("images-ok", -1)),
             "console_errors": errors,
             "screenshot": str(shot) if shot.exists() else None}
    facts["ok"] = (facts["images"] > 0 and facts["images_decoded"] == facts["images"]
                   and not errors and 0 < facts["scroll_width"] <= facts["client_width"]
                   and facts["screenshot"] is not None)
    return facts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="results folder of lcen design")
    p.add_argument("--width", type=int, default=1280, help="window width in pixels")
    p.add_argument("--browser", default=None, help="Chromium executable")
    args = p.parse_args()
    facts = check(args.folder, args.width, browser(args.browser))
    print(json.dumps(facts, indent=2))
    return 0 if facts["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
