"""Time from a fresh clone to a scored submission (issue 25: Sign MNIST >= 99.5% in <= 30 minutes).

    python bench/time_to_submission.py [sign_mnist] [--params '{"epochs": 5, "patience": null}'] [--install]
                                       [--from ../shared/data/sign_mnist]

Clones this repository's HEAD into a temporary folder and there, timing each step as a user
would run it: installs it (``--install``: ``make setup``, a new venv; otherwise the current
interpreter's environment runs the clone's code via PYTHONPATH), ``kaggletk fetch`` from the
shared data, ``kaggletk cv`` of the ``cnn`` with ``--params``, ``kaggletk predict`` (the
submission file), ``kaggletk validate`` and ``kaggletk score`` against the held-out test labels.
Writes ``bench/results/time-to-submission-<comp>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, markdown_table, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("competition", nargs="?", default="sign_mnist")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--params", default='{"epochs": 5, "patience": null}')
    parser.add_argument("--install", action="store_true", help="time `make setup` (a new venv) in the clone")
    parser.add_argument("--from", dest="source", help="data folder (default: ../shared/data/<comp>)")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args(argv)
    source = Path(args.source or ROOT.parent / "shared" / "data" / args.competition).resolve()

    steps, outputs = [], {}
    tmp = Path(tempfile.mkdtemp(prefix="kaggletk-fresh-"))
    clone = tmp / "kaggletk"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}

    def step(label, cmd, cwd=tmp, extra_env=None):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env={**env, **(extra_env or {})}, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{label} failed (exit {proc.returncode}): {' '.join(cmd)}")
        steps.append({"step": label, "command": " ".join(cmd), "seconds": seconds})
        outputs[label] = proc.stdout
        print(f"{label}: {seconds:.1f} s", flush=True)
        return proc.stdout

    step("clone", ["git", "clone", "--quiet", str(ROOT), str(clone)])
    if args.install:
        step("install (make setup)", ["make", "setup"], cwd=clone)
        kaggletk, run_env = [str(clone / ".venv" / "bin" / "kaggletk")], None
    else:
        kaggletk, run_env = [sys.executable, "-m", "kaggletk"], {"PYTHONPATH": str(clone)}
    step("fetch", kaggletk + ["fetch", args.competition, "--from", str(source)], cwd=clone, extra_env=run_env)
    run = f"fresh-{args.model}"
    step("cv", kaggletk + ["cv", args.competition, "--model", args.model, "--params", args.params, "--data", "full",
                           "--name", run], cwd=clone, extra_env=run_env)
    step("predict", kaggletk + ["predict", args.competition, "--run", run], cwd=clone, extra_env=run_env)
    submission = clone / "submissions" / args.competition / f"{run}.csv"
    step("validate", kaggletk + ["validate", args.competition, str(submission)], cwd=clone, extra_env=run_env)
    scored = step("score", kaggletk + ["score", args.competition, str(submission)], cwd=clone, extra_env=run_env)
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", scored).group(1))
    manifest = json.loads((clone / "oof" / args.competition / run / "manifest.json").read_text())
    cv = manifest["cv"]["oof_accuracy"]
    total = sum(s["seconds"] for s in steps)
    rows = [[s["step"], s["seconds"], f"`{s['command'].replace(str(tmp), '<tmp>').replace(sys.executable, 'python')}`"]
            for s in steps]
    rows.append(["total", total, ""])
    table = markdown_table(["step", "seconds", "command"], rows)
    table += (f"\n\n{args.competition}: test accuracy of the submission {accuracy:.4f} (CV {cv:.4f}), {total / 60:.1f} minutes "
              f"from `git clone` to the scored file; {args.model} with `--params '{args.params}'`; "
              f"{'with' if args.install else 'without'} installing (`make setup`"
              f"{'' if args.install else ' not timed: the current environment ran the clone'}).")
    this = {"steps": steps, "test_accuracy": accuracy, "cv_accuracy": cv, "total_seconds": total,
            "params": args.params, "model": args.model, "install": args.install}
    # Earlier runs with other settings stay on record (one row each; the latest run of a setting replaces it).
    previous = RESULTS / f"time-to-submission-{args.competition}.json"
    earlier = []
    if previous.exists():
        old = json.loads(previous.read_text())
        earlier = old.get("earlier", []) + [{k: old[k] for k in this if k in old}]
    key = (args.model, args.params, args.install)
    earlier = [r for r in earlier if (r.get("model"), r.get("params"), r.get("install")) != key]
    summary = [[r["model"], f"`{r['params']}`", "yes" if r["install"] else "no", f"{r['total_seconds'] / 60:.1f}",
                r["cv_accuracy"], r["test_accuracy"]] for r in earlier + [this]]
    table += "\n\nEvery setting measured (latest last):\n\n" + markdown_table(
        ["model", "params", "make setup timed", "minutes", "CV accuracy", "test accuracy"], summary)
    write_results(f"time-to-submission-{args.competition}", {**this, "earlier": earlier}, table)
    if not args.keep:
        subprocess.run(["rm", "-rf", str(tmp)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
