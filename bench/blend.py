"""Blending: each method's CV and test accuracy and time on real runs; the cost of blending 20 runs.

    python bench/blend.py fashion_mnist [--runs R1,R2,...] [--tag NAME] [--quick]

Part 1 blends the complete runs of the competition's current data (default: every `bench-*` run)
with every method, scored on the same folds, beside the best single run. Part 2 times every
method on 20 runs of the full training set (the real runs' OOF probabilities, repeated with small
Dirichlet noise so that the 20 differ) and reports seconds and peak traced memory per method.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, noisy_copies, write_results  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("competition", nargs="?", default="fashion_mnist")
    parser.add_argument("--runs", help="runs to blend (default: every complete bench-* run)")
    parser.add_argument("--quick", action="store_true", help="sample data")
    parser.add_argument("--n-runs", type=int, default=20, help="runs in the cost test")
    parser.add_argument("--tag", help="name this set of runs: results go to blend-<comp>-<tag>.json/.md, beside the default set's")
    args = parser.parse_args(argv)

    from kaggletk.blend import BLEND_METHODS, BlendInput, make_method, run_blend
    from kaggletk.data import load_dataset
    from kaggletk.folds import load_folds
    from kaggletk.metrics import get_metric
    from kaggletk.store import list_runs

    data = "sample" if args.quick else "full"
    dataset = load_dataset(args.competition, data)
    folds = load_folds(dataset)
    if args.runs:
        names = args.runs.split(",")
    else:
        names = [r.name for r in list_runs(args.competition) if r.name.startswith("bench-") and r.complete
                 and r.manifest.fold_hash == folds.hash and r.manifest.kind == "model"]
    suffix = ("-quick" if args.quick else "") + (f"-{args.tag}" if args.tag else "")
    result = run_blend(args.competition, names, method="auto", name="bench-blend-auto" + suffix, data=data)
    rows = []
    def test_accuracy(row):
        return row["test"].scores["accuracy"] if row["test"] else float("nan")

    for row in result.table:
        rows.append([row["method"] + (" (chosen)" if row["method"] == result.chosen else ""), row["oof"]["accuracy"],
                     test_accuracy(row), row["seconds"]])
    best_single = result.best_single
    chosen = next(r for r in result.table if r["method"] == result.chosen)
    quality = (f"\n\nBest single run: {best_single['run']} (CV {best_single['oof']['accuracy']:.4f}, test "
               f"{test_accuracy(best_single):.4f}). Chosen blend {result.chosen}: CV "
               f"{chosen['oof']['accuracy']:.4f} ({chosen['oof']['accuracy'] - best_single['oof']['accuracy']:+.4f}), test "
               f"{test_accuracy(chosen):.4f} ({test_accuracy(chosen) - test_accuracy(best_single):+.4f}).")
    table1 = markdown_table(["method / run", "CV (OOF) accuracy", "test accuracy", "seconds"], rows) + quality

    # Part 2: cost on n runs of the full training set.
    oof, test = noisy_copies([r for r in list_runs(args.competition) if r.name in names], args.n_runs)
    from types import SimpleNamespace

    data_in = BlendInput([SimpleNamespace(name=f"run{i}") for i in range(args.n_runs)], oof, test, dataset.y, folds,
                         get_metric(dataset.competition.metric))
    cost_rows, cost = [], {}
    for method in BLEND_METHODS:
        blender = make_method(method)
        tracemalloc.start()
        start = time.perf_counter()
        out = blender.blend(data_in)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        cost[method] = {"seconds": seconds, "peak_mb": peak, "oof_accuracy": float((out.oof.argmax(1) == dataset.y).mean())}
        cost_rows.append([method, seconds, peak])
        print(f"cost {method}: {seconds:.2f}s, peak {peak:.0f} MB", flush=True)
    table2 = markdown_table(["method", "seconds", "peak traced MB"], cost_rows)
    table2 += f"\n\n{args.n_runs} runs x {dataset.n_train} rows x {dataset.competition.n_classes} classes, {folds.n_splits} folds."
    write_results(f"blend-{args.competition}{suffix}",
                  {"data": data, "runs": names, "methods": result.run.manifest.blend.methods, "chosen": result.chosen,
                   "cost": cost},
                  table1 + "\n\n## Cost\n\n" + table2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
