"""Regenerate docs/report-screenshot.png: the default set of runs, a blend, the report, a headless Chromium screenshot.

    python scripts/report_screenshot.py [--competition fashion_mnist] [--data sample] [--width 1400]

Runs ``kaggletk cv COMP --model default`` (resuming what is already there), ``kaggletk blend`` and
``kaggletk report`` on the chosen data, then opens the report in headless Chromium (Debian's
``chromium`` package) at the given window width and saves the top of the page. Look at the PNG
before committing it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def kaggletk(*argv: str) -> None:
    subprocess.run([sys.executable, "-m", "kaggletk", *argv], cwd=ROOT, check=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--competition", default="fashion_mnist")
    parser.add_argument("--data", default="sample")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2200)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "report-screenshot.png")
    parser.add_argument("--skip-cv", action="store_true", help="use the runs already there (a partial run stays partial)")
    args = parser.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("needs headless Chromium: apt-get install chromium")
    comp, data = args.competition, args.data
    if not args.skip_cv:
        kaggletk("cv", comp, "--model", "default", "--data", data)
    kaggletk("blend", comp, "--data", data)
    report = ROOT / "oof" / comp / "report-screenshot"
    kaggletk("report", comp, "--data", data, "--out", str(report))
    profile = report / ".chromium-profile"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--hide-scrollbars", f"--window-size={args.width},{args.height}",
                    f"--screenshot={args.out}", (report / "report.html").as_uri()], check=True, capture_output=True)
    shutil.rmtree(profile, ignore_errors=True)
    print(f"screenshot: {args.out} ({args.width}x{args.height}); look at it before committing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
