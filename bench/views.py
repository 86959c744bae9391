"""Views: XGBoost and LightGBM on `pixels` vs `pca` vs `hog` vs `pcahog` vs `compact`: accuracy and time per fold.

    python bench/views.py [COMP] [--quick] [--folds 1] [--views pixels,pca,hog,pcahog,compact] [--overwrite]

Same folds, same boosting parameters (a round cap keeps raw pixels affordable on a CPU), one row
per (model, view). Target: a compact view at least 5x faster than raw pixels with equal or better
accuracy. Runs are stored as `views-<model>-<view>` and resume; `--overwrite` retrains them so
that every row of the table comes from this process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

CAP = {"n_estimators": 400}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("competition", nargs="?", default="fashion_mnist")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--folds", type=int, default=1, help="first K folds (default 1)")
    parser.add_argument("--views", default="pixels,pca,hog,pcahog,compact", help="comma-separated; the first is the baseline")
    parser.add_argument("--overwrite", action="store_true", help="retrain stored runs instead of reading them")
    args = parser.parse_args(argv)

    from kaggletk.cli.progress import RichProgress
    from kaggletk.cv import CvRequest, run_cv

    data = "sample" if args.quick else "full"
    baseline = args.views.split(",")[0]
    rows, records = [], []
    for model in ("xgb", "lgbm"):
        base = None
        for view in args.views.split(","):
            name = f"views-{model}-{view}" + ("-quick" if args.quick else "")
            for fold in range(args.folds):
                with RichProgress(f"{model}:{view}") as progress:
                    request = CvRequest(args.competition, model, view=view, params=CAP, data=data, name=name)
                    run = run_cv(request, fold=fold, overwrite=args.overwrite and fold == 0, callbacks=[progress]).run
            entries = [run.manifest.folds[f] for f in range(args.folds)]
            acc = sum(e.scores["accuracy"] for e in entries) / len(entries)
            seconds = sum(e.fit_seconds + e.predict_seconds for e in entries) / len(entries)
            features = sum(e.features_seconds for e in entries) / len(entries)
            rounds = [e.best_iteration for e in entries]
            base = base or (acc, seconds)
            records.append({"model": model, "view": view, "accuracy": acc, "seconds_per_fold": seconds,
                            "features_seconds_per_fold": features, "best_rounds": rounds})
            rows.append([model, view, acc, acc - base[0], seconds, base[1] / seconds, features, rounds])
            print(f"{model} on {view}: accuracy {acc:.4f}, {seconds:.0f}s per fold ({base[1] / seconds:.1f}x faster than {baseline})",
                  flush=True)
    table = markdown_table(["model", "view", "accuracy", f"vs {baseline}", "s/fold", f"speed-up vs {baseline}", "features s/fold",
                            "best rounds"], rows)
    table += (f"\n\n{args.competition}, {data} data, first {args.folds} fold(s), params {CAP} over the adapters' defaults. "
              "s/fold is the model's fit and predict time. features s/fold is the view's own time for the fold (PCA fits, "
              "transforms); a stateless descriptor (HOG) is computed once per data set and cached, and the first run that "
              "needs it pays that once (nan: a run stored before features were timed).")
    write_results(f"views-{args.competition}" + ("-quick" if args.quick else ""), {"data": data, "runs": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
