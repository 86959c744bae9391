"""Stress: races and kills against one project folder, counting double writers, failures and half-written files.

    python bench/stress.py [--locks 500] [--fetch 100] [--cv 100] [--blend-kills 40] [--cold 20]

1. Lock races: two processes behind a barrier take one folder's lock (half the races kill the
   first holder inside it); a double holder is two processes inside at once.
2. Concurrent ``fetch --from`` pairs on one competition: both must exit 0 and leave one whole cache
   (every array matching its manifest's sha256, no temporary folders).
3. Concurrent ``cv`` pairs on one run name: each exits 0 or says the run is being written, and the
   run ends whole, identical to a reference run.
4. ``blend`` killed at every crash point, then at random moments: the blend must always be either
   the previous one or the new one, whole (every file its manifest names is there and matches).
5. The cold-cache pair (two ``cv`` runs of one competition on a fresh project) ``--cold`` times,
   with the other core kept busy.

Writes ``bench/results/stress.json`` and ``.md``. Everything runs in a temporary project.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CV = ["cv", "fashion_mnist", "--model", "logreg", "--data", "sample", "--folds", "2", "--params", '{"max_iter": 60}']


def make_project(base: Path) -> Path:
    root = base / "project"
    for comp in ("fashion_mnist", "sign_mnist"):
        shutil.copytree(ROOT / "competitions" / comp, root / "competitions" / comp,
                        ignore=shutil.ignore_patterns("data", "tuned", "__pycache__"))
    (root / "oof").mkdir()
    (root / "submissions").mkdir()
    return root


def kaggletk(project: Path, *argv: str, env: dict | None = None, wait: bool = True):
    full = dict(os.environ, KAGGLETK_HOME=str(project), **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "kaggletk", *argv], env=full, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    if not wait:
        return proc
    _, err = proc.communicate(timeout=900)
    return proc.returncode, err


def whole_run(folder: Path) -> bool:
    """Every file the manifest names is there and matches its sha256."""
    from kaggletk._io import sha256_file
    from kaggletk.store import read_manifest

    m = read_manifest(folder)
    entries = [(e.file, e.sha256) for e in m.folds.values()] + [(e["file"], e["sha256"]) for e in m.files.values()]
    return all((folder / f).exists() and sha256_file(folder / f) == digest for f, digest in entries)


def _race(folder: str, barrier, holders, doubles, die: bool) -> None:
    from kaggletk._lock import folder_lock
    from kaggletk.errors import KaggletkError

    barrier.wait()
    try:
        with folder_lock(Path(folder), "busy", wait_seconds=5):
            with holders.get_lock():
                holders.value += 1
                if holders.value > 1:
                    doubles.value += 1
            time.sleep(0.001)
            with holders.get_lock():
                holders.value -= 1
            if die:
                os.kill(os.getpid(), signal.SIGKILL)
    except KaggletkError:
        pass


def lock_races(base: Path, n: int) -> dict:
    ctx = mp.get_context("fork")
    holders, doubles = ctx.Value("i", 0), ctx.Value("i", 0)
    start = time.perf_counter()
    for race in range(n):
        barrier = ctx.Barrier(2)
        die = race % 2 == 1
        procs = [ctx.Process(target=_race, args=(str(base / f"lock{race}"), barrier, holders, doubles, die and i == 0))
                 for i in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
    return {"races": n, "with_killed_holder": n // 2, "double_holders": doubles.value, "seconds": time.perf_counter() - start}


def fetch_pairs(project: Path, n: int) -> dict:
    from kaggletk.data import load_dataset

    sample = project / "competitions" / "sign_mnist" / "sample"
    failures, corrupt = 0, 0
    for _ in range(n):
        procs = [kaggletk(project, "fetch", "sign_mnist", "--from", str(sample), wait=False) for _ in range(2)]
        failures += sum(p.wait(600) != 0 for p in procs)
        try:
            os.environ["KAGGLETK_HOME"] = str(project)
            load_dataset("sign_mnist", "full")  # raises on a missing or changed array
        except Exception:
            corrupt += 1
        corrupt += len(list((project / "competitions" / "sign_mnist" / "data").glob(".*.tmp")))
    return {"pairs": n, "failures": failures, "corrupt": corrupt}


def cv_pairs(project: Path, n: int) -> dict:
    import numpy as np

    from kaggletk.store import load_run

    assert kaggletk(project, *CV, "--name", "reference")[0] == 0
    os.environ["KAGGLETK_HOME"] = str(project)
    reference = load_run("fashion_mnist", "reference").oof()
    failures, corrupt, busy = 0, 0, 0
    for i in range(n):
        procs = [kaggletk(project, *CV, "--name", f"pair{i}", wait=False) for _ in range(2)]
        results = [(p.wait(900), p.stderr.read()) for p in procs]
        for code, err in results:
            if code == 2 and "run is being written by process" in err:
                busy += 1
            elif code != 0:
                failures += 1
        folder = project / "oof" / "fashion_mnist" / f"pair{i}"
        run = load_run("fashion_mnist", f"pair{i}")
        if not (run.complete and whole_run(folder) and np.array_equal(run.oof(), reference)):
            corrupt += 1
    return {"pairs": n, "failures": failures, "corrupt": corrupt, "refused_as_busy": busy}


def blend_kills(project: Path, n_random: int) -> dict:
    from kaggletk.store import load_run

    os.environ["KAGGLETK_HOME"] = str(project)
    assert kaggletk(project, *CV)[0] == 0
    assert kaggletk(project, *CV[:3], "lgbm", *CV[4:8], "--params", '{"n_estimators": 20}')[0] == 0
    blend = ["blend", "fashion_mnist", "--data", "sample", "--name", "b"]
    assert kaggletk(project, *blend, "--method", "mean")[0] == 0
    points = ["between-final-arrays", "between-final-arrays:2", "final-arrays-written", "before-rename:1", "before-rename:2",
              "before-rename:3", "before-rename:4"]
    bad, kills = 0, 0
    methods = ["hill", "mean", "rank", "stack"]
    for i, point in enumerate(points):
        code, _ = kaggletk(project, *blend, "--method", methods[i % 4], env={"KAGGLETK_CRASH_AT": point})
        kills += code == -signal.SIGKILL
        bad += not (load_run("fashion_mnist", "b").complete and whole_run(project / "oof" / "fashion_mnist" / "b"))
    rng = random.Random(0)
    for i in range(n_random):
        proc = kaggletk(project, *blend, "--method", methods[i % 4], wait=False)
        time.sleep(rng.uniform(0.5, 4.0))
        proc.send_signal(signal.SIGKILL)
        kills += proc.wait() == -signal.SIGKILL
        bad += not (load_run("fashion_mnist", "b").complete and whole_run(project / "oof" / "fashion_mnist" / "b"))
    return {"crash_points": len(points), "random_kills": n_random, "killed": kills, "incomplete_or_broken": bad}


def cold_pairs(base: Path, n: int) -> dict:
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # the other core is busy
    failures = 0
    try:
        for i in range(n):
            project = make_project(base / f"cold{i}")
            procs = [kaggletk(project, *CV, "--name", name, wait=False) for name in ("a", "b")]
            failures += sum(p.wait(900) != 0 for p in procs)
    finally:
        burner.kill()
    return {"pairs": n, "failures": failures}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--locks", type=int, default=500)
    parser.add_argument("--fetch", type=int, default=100)
    parser.add_argument("--cv", type=int, default=100)
    parser.add_argument("--blend-kills", type=int, default=40)
    parser.add_argument("--cold", type=int, default=20)
    args = parser.parse_args(argv)
    results, rows = {}, []
    with tempfile.TemporaryDirectory(prefix="kaggletk-stress-") as tmp:
        base = Path(tmp)
        steps = [("lock races", lambda: lock_races(base, args.locks)),
                 ("fetch pairs", lambda: fetch_pairs(make_project(base / "fetch"), args.fetch)),
                 ("cv pairs", lambda: cv_pairs(make_project(base / "cv"), args.cv)),
                 ("blend kills", lambda: blend_kills(make_project(base / "blend"), args.blend_kills)),
                 ("cold-cache cv pairs (other core busy)", lambda: cold_pairs(base, args.cold))]
        for name, step in steps:
            start = time.perf_counter()
            results[name] = step()
            results[name]["seconds"] = time.perf_counter() - start
            print(f"{name}: {results[name]}", flush=True)
            rows.append([name, ", ".join(f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}" for k, v in results[name].items())])
    table = markdown_table(["step", "result"], rows)
    table += ("\n\nA failure is a non-zero exit that is not the one-line 'run is being written' refusal; corrupt: a cache "
              "or run whose files do not match their manifest, or a run that differs from the reference.")
    write_results("stress", results, table)
    ok = all(r.get(k, 0) == 0 for r in results.values() for k in ("double_holders", "failures", "corrupt", "incomplete_or_broken"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
