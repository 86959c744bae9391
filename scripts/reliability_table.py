"""Write docs/reliability.md: every red-team case with what it must do and what kaggletk does today.

    python scripts/reliability_table.py        # runs tests/test_red_team.py (about 2 minutes), then writes the table

Each row is one test: the cases of ``tests/red_team.py`` (run by ``tests/test_red_team.py``, which
records the line each case printed), then the cases other test files check (``ELSEWHERE``).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.red_team import CASES, ELSEWHERE  # noqa: E402


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "record.jsonl"
        env = dict(os.environ, KAGGLETK_RED_TEAM_RECORD=str(record))
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_red_team.py::test_red_team"],
                              cwd=REPO, env=env)
        seen = {}
        for line in record.read_text().splitlines():
            entry = json.loads(line)
            seen[entry["id"]] = entry
    counts = collections.Counter(c.area for c in CASES)
    lines = [
        "# Reliability: the red-team table",
        "",
        f"Every row is a test. {len(CASES)} cases run against a copy of a small real project "
        "(`tests/red_team.py`, run by `tests/test_red_team.py`): bad input must get one line naming the file, the field and "
        "the fix, exit status 2 and no traceback, and leave every file of the project as it was; odd but valid input must "
        f"simply work. {len(ELSEWHERE)} more cases need a real process, a fake Kaggle server, a full disk or a race and are "
        "checked by the test named in their row. \"What happens\" is the line kaggletk printed when this table was written "
        f"({time.strftime('%Y-%m-%d')}, `python scripts/reliability_table.py`; `<project>` is the project folder).",
        "",
        "| area | cases |",
        "|---|---|",
        *[f"| {area} | {n} |" for area, n in counts.items()],
        *[f"| {area} | {n} |" for area, n in collections.Counter(a for a, *_ in ELSEWHERE).items()],
        "",
        "| area | case | expected | exit | what happens | test |",
        "|---|---|---|---|---|---|",
    ]
    for c in CASES:
        got = seen.get(c.id, {"status": "?", "shown": "(not run)"})
        lines.append(f"| {c.area} | {_cell(c.case)} | {_cell(c.expected)} | {got['status']} | {_cell(got['shown'])} | "
                     f"`tests/test_red_team.py::test_red_team[{c.id}]` |")
    for area, case, expected, node in ELSEWHERE:
        lines.append(f"| {area} | {_cell(case)} | {_cell(expected)} | | (see the test) | `{node}` |")
    (REPO / "docs" / "reliability.md").write_text("\n".join(lines) + "\n")
    print(f"docs/reliability.md: {len(CASES) + len(ELSEWHERE)} rows; pytest exit {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
