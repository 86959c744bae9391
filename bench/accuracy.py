"""Accuracy ladder: each adapter's CV and test accuracy with time per fold, on the full data.

    python bench/accuracy.py fashion_mnist [--models cnn,xgb:pca,...] [--tag NAME] [--quick]

Runs go to the OOF store like any `kaggletk cv`, so an interrupted benchmark resumes where it
stopped (finished folds are kept). `--quick` uses the bundled sample. Results:
bench/results/accuracy-<comp>[-quick].json and .md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

DEFAULT_MODELS = "logreg:pca,rf:pixels,xgb:compact,lgbm:compact,mlp:pixels,lenet5:image,cnn:image"

# Published reference points, for context beside our numbers.
ANCHORS = {
    "fashion_mnist": "Fashion-MNIST: XGBoost 89.8%, ResNet18 94.9%, WRN-28-10 96.3% (test)",
    "sign_mnist": "Sign MNIST: dense nets 78-83%, CNN with augmentation 99-99.75% (test)",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("competition")
    parser.add_argument("--models", default=DEFAULT_MODELS)
    parser.add_argument("--quick", action="store_true", help="bundled sample instead of the full data")
    parser.add_argument("--scheme", help="fold scheme (default: the competition's)")
    parser.add_argument("--params", action="append", default=[], metavar="MODEL=JSON", help="params for one model")
    parser.add_argument("--tag", help="name this set of runs: run names and result files end in -<tag>, beside the default set's")
    args = parser.parse_args(argv)

    from kaggletk.cli.progress import RichProgress
    from kaggletk.cv import CvRequest, run_cv
    from kaggletk.data import load_dataset
    from kaggletk.errors import KaggletkError
    from kaggletk.store import fold_models_test_scores

    overrides = dict(item.split("=", 1) for item in args.params)
    data = "sample" if args.quick else "full"
    dataset = load_dataset(args.competition, data)
    suffix = ("-quick" if args.quick else "") + (f"-{args.scheme}" if args.scheme else "") + (f"-{args.tag}" if args.tag else "")
    rows, records = [], []
    for spec in args.models.split(","):
        model, _, view = spec.partition(":")
        start = time.perf_counter()
        request = CvRequest(args.competition, model, view=view or None, data=data, params=overrides.get(model),
                            scheme=args.scheme, name=f"bench-{model}-{view or 'default'}{suffix}")
        with RichProgress(model) as progress:
            try:
                run = run_cv(request, callbacks=[progress]).run
            except KaggletkError as exc:  # made with other settings (e.g. an older default): measure the current ones
                if "exists with other settings" not in str(exc):
                    raise
                print(f"{request.name}: {exc}; training it again")
                run = run_cv(request, overwrite=True, callbacks=[progress]).run
        m = run.manifest
        per_fold = [e.fit_seconds + e.predict_seconds for e in m.folds.values()]
        record = {"run": run.name, "model": model, "view": m.view, "params": m.params, "cv": m.cv.to_json(),
                  "test": m.test.to_json() if m.test else None, "seconds_per_fold": sum(per_fold) / len(per_fold),
                  "fold_scheme": m.fold_scheme, "fold_hash": m.fold_hash,
                  "epochs_or_rounds": [m.folds[f].best_iteration for f in range(m.n_folds)],
                  "wall_seconds_this_call": time.perf_counter() - start}
        test = m.test.scores if m.test else {}
        scores = fold_models_test_scores(run, dataset)
        single = scores.fold_models_mean("accuracy") if scores else None
        record["test_fold_models_mean"] = single
        records.append(record)
        rows.append([model, m.view, m.cv.mean["accuracy"], m.cv.std["accuracy"], m.cv.mean["macro_f1"],
                     test.get("accuracy"), test.get("macro_f1"), single,
                     None if single is None else m.cv.mean["accuracy"] - single, record["seconds_per_fold"]])
    table = markdown_table(["model", "view", "CV acc", "± std", "CV macro-F1", "test acc (fold average)", "test macro-F1",
                            "test acc (single fold model)", "CV - single-model test", "s/fold"], rows)
    table += (f"\n\n{data} data, {records[0]['fold_scheme']} folds {records[0]['fold_hash']}. CV scores single fold models; "
              "the submission averages the K fold models, so its test accuracy is higher by the ensemble gain. The like-for-like "
              f"gap compares CV with the single fold models' mean test accuracy. Published: {ANCHORS.get(args.competition, '-')}")
    write_results(f"accuracy-{args.competition}{suffix}", {"data": data, "runs": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
