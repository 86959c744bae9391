"""The red-team table (docs/reliability.md), one test per row: bad input gets one line naming the file, the field and
the fix, exit 2 and no traceback, and a refused command changes no file of the project; good input in odd forms works."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import make_project, run_cli
from tests.layouts import digit_recognizer, fashion_slice
from tests.helpers import REPO
from tests.red_team import CASES, COMP_PY, ELSEWHERE, Env

IGNORED = (".lock", ".log")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A fetched project with two complete runs and a blend, built once and copied per case."""
    base = tmp_path_factory.mktemp("red-team")
    mp = pytest.MonkeyPatch()
    try:
        root = make_project(base, mp)
        s = fashion_slice(90, 30)
        digit_recognizer(root / "download", s)
        np.savez(root / "tiny-arrays.npz", xtr=s.train_images, ytr=s.train_labels, xte=s.test_images)
        (root / "competitions" / "tiny").mkdir()
        (root / "competitions" / "tiny" / "competition.py").write_text(COMP_PY.format(extra=""))
        for argv in (("fetch", "tiny"), ("cv", "tiny", "--model", "rf", "--params", '{"n_estimators": 20}'),
                     ("cv", "tiny", "--model", "logreg", "--view", "pixels", "--params", '{"max_iter": 50}'),
                     ("blend", "tiny", "--runs", "rf-pixels,logreg-pixels", "--method", "mean", "--name", "blend-auto"),
                     ("predict", "tiny", "--run", "rf-pixels")):
            status, out, err = run_cli(*argv)
            assert status == 0, (argv, err)
    finally:
        mp.undo()
    return root


def _run(*argv: str) -> tuple[int, str, str]:
    """The CLI in-process, argparse's exits included (its usage line and one error line)."""
    import contextlib
    import io

    from kaggletk.cli import _common, main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        _common.out.file, _common.err.file = stdout, stderr
        try:
            status = main(list(argv))
        except SystemExit as exc:
            status = int(exc.code or 0)
        finally:
            _common.out.file = _common.err.file = None
    return status, stdout.getvalue(), stderr.getvalue()


def _snapshot(root: Path) -> dict[str, str]:
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.name.endswith(IGNORED) and "__pycache__" not in p.parts:
            files[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return files


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_red_team(c, template, tmp_path, monkeypatch):
    base = tmp_path / "moved"  # a copy at another path: nothing may depend on where the project was built
    shutil.copytree(template.parent, base, symlinks=True)
    root = base / "project"
    monkeypatch.setenv("KAGGLETK_HOME", str(root))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(base / "isolated-home" / ".kaggle"))
    monkeypatch.setenv("HOME", str(base / "isolated-home"))
    monkeypatch.chdir(root)
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLETK_DATA_DIR", "KAGGLETK_COMPETITION"):
        monkeypatch.delenv(name, raising=False)
    before: dict[str, dict[str, str]] = {}

    def cli(*argv: str):
        before["files"] = _snapshot(root)
        return _run(*argv)

    env = Env(root, cli)
    status, out, err = c.run(env)
    _record(c, status, out, err, base)
    assert "internal error" not in err and "Traceback" not in err, err
    assert status == c.status, f"exit {status}, expected {c.status}: {err or out}"
    if status == 2 and err:
        errors = [line for line in err.splitlines() if "error:" in line]
        assert len(errors) == 1, err
        for word in c.words:
            assert word in errors[0], f"{word!r} not in {errors[0]!r}"
    if c.check:
        c.check(env, out, err)
    if c.files_kept and "files" in before:
        after = _snapshot(root)
        changed = [k for k in set(before["files"]) | set(after) if before["files"].get(k) != after.get(k)
                   and not k.startswith(("download", "competitions/tiny2", "sub."))]
        assert not changed, f"a refused command changed {changed}"


def _record(c, status: int, out: str, err: str, base: Path) -> None:
    """With ``KAGGLETK_RED_TEAM_RECORD`` set (``scripts/reliability_table.py``), note what the case printed."""
    target = os.environ.get("KAGGLETK_RED_TEAM_RECORD")
    if not target:
        return
    lines = [line for line in (err or out).splitlines() if line.strip()]
    shown = next((line for line in lines if "error:" in line), lines[-1] if lines else "")
    shown = shown.replace(str(base / "project"), "<project>").replace(str(base), "<tmp>").strip()
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": c.id, "status": status, "shown": shown[:300]}) + "\n")


def test_the_reliability_table_lists_every_case_and_every_test_it_names_exists():
    table = (REPO / "docs" / "reliability.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`tests/" in line]
    assert len(rows) >= 250 and len(rows) == len(CASES) + len(ELSEWHERE), len(rows)
    for c in CASES:
        assert f"`tests/test_red_team.py::test_red_team[{c.id}]`" in table, f"{c.id}: run scripts/reliability_table.py"
    for _, _, _, node in ELSEWHERE:
        assert f"`{node}`" in table, node
        file, _, name = node.partition("::")
        functions = {n.name for n in ast.walk(ast.parse((REPO / file).read_text())) if isinstance(n, ast.FunctionDef)}
        assert name.split("[")[0] in functions, f"{node}: no such test"
