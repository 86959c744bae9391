"""The 5-fold Fashion-MNIST ladder of issue 25, carried across working sessions in git.

    nice -n 5 python bench/ladder.py [--runs ladder-cnn-e30,ladder-resnet20-e20,...]   # restore, train, save; rerun until done
    python bench/ladder.py --save      # after a killed or external `kaggletk cv` of a ladder run: carry its state
    python bench/ladder.py --restore   # only copy the carried state into oof/ (to blend or inspect), then report
    python bench/ladder.py --report    # the table from what is carried

A 5-fold run of the strong networks takes 2-5 hours here, longer than a working session, and a
new session starts on a fresh checkout whose ``oof/`` is empty. So the ladder keeps each run's
state under ``bench/results/ladder/<run>/``, which is committed: the manifest, every finished
fold's file (``fold-<i>.npz``: held-out and test probabilities) and history, and the per-epoch
checkpoint of the fold in progress (``checkpoint-<i>/``, weights with optimizer and RNG state).
At start the script copies that state into ``oof/fashion_mnist/<run>/`` (when the store holds
less), then runs ``kaggletk.cv.run_cv`` as ``kaggletk cv`` would: finished folds are kept (their
sha256 is checked) and the fold in progress resumes at its last finished epoch. After every epoch
and every fold it copies the new state back. The fold models themselves are not carried (not
needed for the scores or the blend), so ``kaggletk predict --images`` does not work on a
restored run. The runs are plain ``kaggletk cv`` runs, so ``kaggletk cv fashion_mnist --model cnn
--params ... --name ladder-cnn-e30`` trains the same run (then ``--save``).

``ladder-resnet20-e20`` is the ``resnet20`` adapter at its defaults (20 epochs): the SGD recipe that
scored 94.66% held-out on fold 0 in ``bench/recipes.py``, without that benchmark's EMA (its raw
weights scored better) and with the cosine ending at 1% instead of 0.

``ladder-resnet20-e40`` is the same adapter at 40 epochs, to measure what a longer schedule buys, and
``ladder-resnet20-e80`` at 80 (started once the 40-epoch run is complete).

Once two or more runs are complete the script blends the complete ones (``kaggletk.blend.run_blend``,
each method, overwriting the blends of the previous set) and
``bench/results/ladder-fashion_mnist.md`` gives per run and fold the held-out and test accuracy,
precision, host and hours, the CV and test accuracy of each complete run, and the blends'.
Held-out test labels are used for scoring only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, markdown_table, write_results  # noqa: E402

COMP = "fashion_mnist"
CARRY = RESULTS / "ladder"
# The recipes measured on fold 0 (bench/results/recipes-fashion_mnist.md): fixed-length cosine schedules,
# no early stopping (``patience: null``), so each fold model trains on its whole training part.
RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    "ladder-cnn-e30": ("cnn", {"epochs": 30, "patience": None}),
    "ladder-resnet20-e20": ("resnet20", {"epochs": 20}),
    # The same network and recipe twice as long: both networks were still rising at the end of their
    # schedules (ResNet-20 gained 1.3 points held-out from 10 to 20 epochs on fold 0), and the
    # published ResNet-20 results above 95.5% train for hundreds of epochs. About 80 min a fold here.
    "ladder-resnet20-e40": ("resnet20", {"epochs": 40}),
    # Measured from 20 to 40 epochs: +0.74 held-out on fold 0 (94.67 -> 95.41) and +0.42 on the test accuracy
    # of the fold models' mean (94.82 with 5 folds -> 95.24 with the first 4); the blends' OOF gain barely
    # reaches the test set. If the next doubling gains half as much, 80 epochs land near 95.45% alone.
    # About 1.6-1.8 h a fold on this EPYC.
    "ladder-resnet20-e80": ("resnet20", {"epochs": 80}),
}
_RUN_FILES = ("fold-*.npz", "history-*.json")
_FOLD_FILE = re.compile(r"(fold|history)-\d+\.(npz|json)")  # not fold-<i>.view.npz: the fold models stay behind


def _fold_count(folder: Path) -> int:
    from kaggletk.store import read_manifest

    return len(read_manifest(folder).folds) if (folder / "manifest.json").exists() else -1


def _complete(folder: Path) -> bool:
    from kaggletk.store import read_manifest

    return (folder / "manifest.json").exists() and read_manifest(folder).complete


def _checkpoint_epoch(folder: Path) -> int:
    from kaggletk._io import read_json

    meta = folder / "checkpoint.json"
    return int(read_json(meta)["epoch"]) if meta.exists() else -1


def _missing_files(checkpoint: Path) -> list[str]:
    """The files a carried checkpoint's metadata names that are not beside it (a commit that caught it half-saved)."""
    from kaggletk._io import read_json

    meta = read_json(checkpoint / "checkpoint.json")
    return [meta[key] for key in ("weights", "random_states") if not (checkpoint / meta[key]).exists()]


def _copy_checkpoint(src: Path, dst: Path) -> None:
    """Copy an EpochCheckpoint folder: the files its metadata names first, the metadata last (as it writes them)."""
    from kaggletk._io import read_json

    meta = read_json(src / "checkpoint.json")
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for key in ("weights", "random_states"):
        shutil.copy2(src / meta[key], tmp / meta[key])
    shutil.copy2(src / "checkpoint.json", tmp / "checkpoint.json")
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def _copy_run(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    names = sorted(p.name for pattern in _RUN_FILES for p in src.glob(pattern) if _FOLD_FILE.fullmatch(p.name))
    for name in names:  # fold files before the manifest that names them
        shutil.copy2(src / name, dst / name)
    shutil.copy2(src / "manifest.json", dst / "manifest.json")


def restore(run: str) -> str:
    """Copy the carried state of ``run`` into the OOF store when the store holds less."""
    from kaggletk.store import read_manifest, run_folder, run_lock

    carried, stored = CARRY / run, run_folder(COMP, run)
    if _fold_count(carried) < 0:
        return "nothing carried"
    with run_lock(stored):
        said = []
        if _fold_count(carried) > _fold_count(stored):
            _copy_run(carried, stored)
            said.append(f"the run with {_fold_count(stored)} finished folds")
        for checkpoint in carried.glob("checkpoint-*"):
            fold = int(checkpoint.name.split("-")[1])
            target = stored / f".fold-{fold}.checkpoint"
            if fold not in read_manifest(stored).folds and _checkpoint_epoch(checkpoint) > _checkpoint_epoch(target):
                missing = _missing_files(checkpoint)
                if missing:
                    said.append(f"not fold {fold}'s checkpoint (it lacks {', '.join(missing)})")
                    continue
                _copy_checkpoint(checkpoint, target)
                said.append(f"fold {fold} with {_checkpoint_epoch(target) + 1} epochs done")
    return "restored " + (", ".join(said) or "nothing new")


def save(run: str, *, locked: bool = True) -> None:
    """Copy the stored state of ``run`` (finished folds, the checkpoint in progress) to the carried folder."""
    from kaggletk.store import read_manifest, run_folder, run_lock

    stored, carried = run_folder(COMP, run), CARRY / run
    if not (stored / "manifest.json").exists():
        return
    if locked:
        with run_lock(stored):
            save(run, locked=False)
        return
    _copy_run(stored, carried)
    done = read_manifest(stored).folds
    for old in carried.glob("checkpoint-*"):
        if int(old.name.split("-")[1]) in done or not (stored / f".fold-{old.name.split('-')[1]}.checkpoint").exists():
            shutil.rmtree(old)
    for checkpoint in stored.glob(".fold-*.checkpoint"):
        fold = int(checkpoint.name.split("-")[1].split(".")[0])
        if fold not in done and _checkpoint_epoch(checkpoint) >= 0:
            _copy_checkpoint(checkpoint, carried / f"checkpoint-{fold}")


def _saver(run: str):
    from kaggletk.callbacks import Callback

    class Saver(Callback):
        """Carry the run's state after every epoch and fold (this process holds the run's lock)."""

        def on_step_end(self, step, logs):
            save(run, locked=False)

        def on_fold_end(self, fold, logs):
            save(run, locked=False)

    return Saver()


def train(runs: list[str]) -> None:
    from kaggletk.cli.progress import RichProgress
    from kaggletk.cv import CvRequest, run_cv

    for run in runs:
        print(f"{run}: {restore(run)}", flush=True)
        model, params = RUNS[run]
        with RichProgress(model) as progress:
            result = run_cv(CvRequest(COMP, model, params=params, name=run), callbacks=[progress, _saver(run)])
        if result.ran_folds or not _complete(CARRY / run):  # a complete carried run stays as committed
            save(run)


def _acc(proba, y) -> float:
    import numpy as np

    return 100 * float(np.mean(proba.argmax(1) == y))


def _pair_so_far(folds: dict[str, dict[int, Any]], y_train, y_test) -> list[list[str]]:
    """Rows for the folds every started run has finished: each run's and the equal-weight mean's accuracy.

    ``folds`` maps each run with finished folds to its loaded fold files (fold -> ``oof``,
    ``test``, ``valid_idx``). One row a fold (held-out rows of that fold, test of that fold's
    models), then one row for all finished folds (each run's finished fold models averaged on
    test, then the runs averaged). Before the blends exist, this is what the ladder measures.
    """
    import numpy as np

    runs = [run for run, done in folds.items() if done]
    common = sorted(set.intersection(*(set(folds[run]) for run in runs))) if len(runs) > 1 else []
    if not common:
        return []

    def cells(probas, y):
        return ", ".join(f"{_acc(p, y):.2f}" for p in probas) + f" -> **{_acc(np.mean(probas, axis=0), y):.2f}**"

    rows = []
    for k in common:
        parts = [folds[run][k] for run in runs]
        y = y_train[parts[0]["valid_idx"]]
        rows.append([str(k), cells([p["oof"] for p in parts], y), cells([p["test"] for p in parts], y_test)])
    means = [np.mean([f["test"] for f in folds[run].values()], axis=0) for run in runs]
    counts = " + ".join(str(len(folds[run])) for run in runs)
    rows.append([f"all finished ({counts} fold models)", "", cells(means, y_test)])
    return rows


def report(runs: list[str]) -> None:
    import numpy as np

    from kaggletk.blend import BLEND_METHODS, run_blend
    from kaggletk.data import load_dataset
    from kaggletk.store import read_manifest
    from kaggletk.store._summary import holdout_indices

    dataset = load_dataset(COMP, "full")
    y_test = holdout_indices(dataset)
    rows, summary, complete, loaded = [], [], [], {}
    for run in runs:
        folder = CARRY / run
        if not (folder / "manifest.json").exists():
            summary.append([run, 0, None, None, None, None])
            continue
        manifest = read_manifest(folder)
        loaded[run], hours = {}, 0.0
        for fold, entry in sorted(manifest.folds.items()):
            loaded[run][fold] = dict(np.load(folder / entry.file))
            seconds = (entry.fit_seconds or 0) + (entry.predict_seconds or 0) + (entry.features_seconds or 0)
            hours += seconds / 3600
            rows.append([run, fold, 100 * entry.scores["accuracy"], _acc(loaded[run][fold]["test"], y_test),
                         entry.host, seconds / 3600])
        tests = [f["test"] for f in loaded[run].values()]
        mean_test = _acc(np.mean(tests, axis=0), y_test) if tests else None
        cv = 100 * manifest.cv.oof["accuracy"] if manifest.complete else None
        if cv is not None:
            complete.append(run)
        summary.append([run, len(manifest.folds), cv, mean_test, manifest.precision, hours])
    pair = _pair_so_far(loaded, dataset.competition.to_index(dataset.train_labels), y_test)
    blends = []
    if len(complete) > 1:  # the complete runs; the blend of that name is overwritten when another run completes
        for run in complete:
            restore(run)
        for method in BLEND_METHODS:
            result = run_blend(COMP, list(complete), method=method, name=f"ladder-blend-{method}")
            stored = result.run
            blends.append([method, 100 * stored.manifest.cv.oof["accuracy"], _acc(stored.test(), y_test)])
    def two(table_rows):  # percentages and hours to two decimals (markdown_table rounds numbers >= 10 to integers)
        return [[f"{v:.2f}" if isinstance(v, float) else v for v in row] for row in table_rows]

    table = ("## Runs\n\n" + markdown_table(
        ["run", "folds done", "CV acc % (OOF)", "test acc % (mean of the finished fold models)", "precision (every fold's)", "hours (wall)"], two(summary))
        + "\n\n## Folds\n\n" + markdown_table(
        ["run", "fold", "held-out acc %", "test acc % (this fold model)", "host", "hours (wall)"], two(rows))
        + "\n\nHours are the fold's features, fit and predict seconds. A fold resumed across sessions before "
          "2026-12-04 (when the epoch checkpoint began to keep the seconds its epochs took) counts only its last "
          "session's part, so those hours and the runs' totals are low."
        + "\n\n## The runs averaged so far (mean of probabilities, equal weights: "
        + (", ".join(run for run, done in loaded.items() if done) or "none") + ")\n\n"
        + (markdown_table(["folds", "held-out acc % (each run's fold model, then their mean)", "test acc % (each run's model or fold-model mean, then their mean)"], pair)
           if pair else "not yet: no fold is finished in every run")
        + f"\n\n## Blends of the complete runs ({', '.join(complete) or 'none yet'})\n\n"
        + (markdown_table(["method", "CV acc % (OOF)", "test acc %"], two(blends)) if blends else "not yet: fewer than two runs are complete")
        + "\n\nCommand: `nice -n 5 python bench/ladder.py` (rerun in each session until every run is complete).")
    write_results("ladder-fashion_mnist", {"runs": summary, "folds": rows, "blended": complete, "blends": blends}, table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", default=",".join(RUNS))
    parser.add_argument("--save", action="store_true", help="carry the stored state of the runs, then report")
    parser.add_argument("--restore", action="store_true", help="copy the carried state into oof/, then report")
    parser.add_argument("--report", action="store_true", help="only the report, from what is carried")
    args = parser.parse_args(argv)
    runs = args.runs.split(",")
    unknown = sorted(set(runs) - set(RUNS))
    if unknown:
        parser.error(f"unknown run {unknown[0]}: use one of {', '.join(RUNS)}")
    if args.save:
        for run in runs:
            save(run)
    elif args.restore:
        for run in runs:
            print(f"{run}: {restore(run)}", flush=True)
    elif not args.report:
        train(runs)
    report(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
