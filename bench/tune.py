"""Tuning gain: CV accuracy of tuned over default parameters for xgb and lgbm, with the time spent.

    python bench/tune.py [fashion_mnist] [--trials 15] [--folds 1] [--quick]

Tunes each model with `kaggletk tune` (its own study; reruns resume it), then evaluates the
default and the tuned parameters on the same first K folds and reports the gain.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("competition", nargs="?", default="fashion_mnist")
    parser.add_argument("--models", default="xgb:pca,lgbm:pca")
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--folds", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)

    from kaggletk.cv import CvRequest, prepare
    from kaggletk.tune import CvObjective, TuneOptions, run_tune

    data = "sample" if args.quick else "full"
    rows, records = [], []
    for spec in args.models.split(","):
        model, _, view = spec.partition(":")
        start = time.perf_counter()
        request = CvRequest(args.competition, model, view=view or None, data=data)
        result = run_tune(request, TuneOptions(trials=args.trials, n_folds_used=args.folds, sampler_seed=0,
                                               study=f"bench-{args.competition}-{model}-{view}" + ("-quick" if args.quick else "")))
        tune_seconds = time.perf_counter() - start
        setup = prepare(request)
        objective = CvObjective(setup, list(range(args.folds)))
        default = objective.evaluate(setup.params, seed=0)
        tuned = objective.evaluate(result.best_params, seed=0)
        gain = tuned["accuracy"] - default["accuracy"]
        records.append({"model": model, "view": view, "default": default, "tuned": tuned, "gain": gain,
                        "best_params": result.best_params, "tune_seconds_this_call": tune_seconds, "trials": args.trials})
        rows.append([model, view, default["accuracy"], tuned["accuracy"], gain, default["fit_seconds"], tuned["fit_seconds"],
                     tune_seconds])
        print(f"{model}: default {default['accuracy']:.4f}, tuned {tuned['accuracy']:.4f} ({gain:+.4f}); tuning took {tune_seconds:.0f}s",
              flush=True)
    table = markdown_table(["model", "view", "default CV acc", "tuned CV acc", "gain", "default fit s", "tuned fit s",
                            "tuning s (this call)"], rows)
    table += f"\n\n{args.competition}, {data} data, first {args.folds} fold(s), {args.trials} trials per model (median pruner)."
    write_results(f"tune-{args.competition}" + ("-quick" if args.quick else ""), {"data": data, "models": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
