"""Commands that combine and hand in: ``blend``, ``predict``, ``validate``, ``score``."""

from __future__ import annotations

from pathlib import Path

from kaggletk.blend import BLEND_METHODS, STACKERS
from kaggletk.cli._common import Notes, add_command, add_data, out
from kaggletk.cli._tables import Col, fitted_table, print_table


def register(sub) -> None:
    p = add_command(
        sub, "blend", _blend, "blend or stack OOF predictions of several runs; write the blend and its submission",
        "  kaggletk blend fashion_mnist                         # every complete run, all methods, keep the best\n"
        "  kaggletk blend fashion_mnist --runs cnn-image,xgb-compact,mlp-pixels --method hill\n"
        "  kaggletk blend sign_mnist --method stack --stacker lgbm --log-odds",
    )
    p.add_argument("competition", metavar="COMP")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--runs", metavar="R1,R2,...", help="runs to blend (default: --all)")
    group.add_argument("--all", action="store_true", help="every complete model run on the current data's folds (the default)")
    p.add_argument("--method", default="auto", choices=("auto", *BLEND_METHODS.names()),
                   help="auto runs every method and keeps the best out-of-fold score in the competition's metric")
    p.add_argument("--stacker", default="logreg", choices=STACKERS.names(), help="level-2 model of --method stack")
    p.add_argument("--log-odds", action="store_true", help="stack on log-odds instead of probabilities")
    p.add_argument("--name", metavar="NAME", help="blend name (default blend-<method>[-sample])")
    p.add_argument("--wide", action="store_true", help="every column of the table, however wide the terminal")
    add_data(p, "which data's runs --all takes")

    p = add_command(sub, "predict", _predict, "write the submission file of a run or blend, or predict new images with its saved models",
                    "  kaggletk predict fashion_mnist --run cnn-image\n  kaggletk predict sign_mnist --run blend-auto --name final\n"
                    "  kaggletk predict fashion_mnist --run cnn-image --images new.csv --out new-proba.csv   # new images: a CSV or a folder")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--run", required=True, metavar="RUN", help="a run or blend name (`kaggletk leaderboard COMP` lists them)")
    p.add_argument("--name", metavar="NAME", help="file name under submissions/<comp>/ (default: the run name)")
    p.add_argument("--images", type=Path, metavar="CSV|DIR",
                   help="new images (a CSV with pixel columns, or a folder of PNG/JPEG files) for the run's saved fold models")
    p.add_argument("--out", type=Path, metavar="FILE", help="with --images: where to write (default: <images>.predictions.csv)")
    p.add_argument("--proba", action="store_true", help="with --images: one probability column per class beside the label")

    p = add_command(sub, "validate", _validate, "check a submission CSV (columns, rows, IDs, labels) and name the first bad row",
                    "  kaggletk validate sign_mnist submissions/sign_mnist/blend-auto.csv")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("file", type=Path, metavar="FILE")
    add_data(p, "which test set the file answers")

    p = add_command(sub, "score", _score, "score a submission against held-out test labels (local scoring)",
                    "  kaggletk score fashion_mnist submissions/fashion_mnist/blend-auto.csv")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("file", type=Path, metavar="FILE")
    add_data(p, "which test set the file answers")


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _blend(args) -> int:
    from kaggletk.blend import run_blend
    from kaggletk.metrics import get_metric
    from kaggletk.submission import dataset_of, write_submission

    names = [r.strip() for r in args.runs.split(",") if r.strip()] if args.runs else None
    result = run_blend(args.competition, names, method=args.method, name=args.name, data=args.data,
                       stacker=args.stacker, log_odds=args.log_odds, callbacks=[Notes()])
    metric = get_metric(result.metric)
    label = metric.label
    extra = [k for k in ("accuracy", "macro_f1") if k != metric.name]
    cols = [Col("method / run", 0, "left"), Col(f"CV {label}", 0), *(Col(f"CV {get_metric(k).label}", 2) for k in extra),
            Col(f"test {label}", 1), Col("seconds", 3), Col("weights", 4, "left")]
    body = []
    for row in result.table:
        weights = row["details"].get("weights") or {}
        shown = ", ".join(f"{k} {v:.2f}" for k, v in weights.items() if v > 0) if row["method"] in ("hill", "stack") else ""
        mark = " <- chosen" if row["method"] == result.chosen else ""
        test = row["test"].scores.get(metric.name) if row["test"] else None
        body.append([row["method"] + mark, _fmt(row["cv"].get(metric.name)), *(_fmt(row["cv"].get(k)) for k in extra),
                     _fmt(test), _fmt(row["seconds"], ".2f"), shown])
    print_table(out, fitted_table(cols, body, width=out.width, wide=args.wide,
                           title=f"{args.competition}: blend methods and input runs, scored on the same folds "
                                 f"({result.run.fold_hash})",
                           caption="CV: the mean over the folds, as on the leaderboard; learned methods are fitted inside "
                                   "the folds"), args.wide)
    path = write_submission(dataset_of(result.run), result.run.test(), result.run.name)
    blended = result.run.manifest.cv.mean[metric.name]
    out.print(f"{result.run.name}: {result.chosen}, CV {label} {blended:.4f} -> {result.run.folder}")
    out.print(f"submission: {path}")
    best = result.best_single
    if best is not None and not metric.better(blended, best["cv"][metric.name]):
        out.print(f"note: no blend beats the best single run {best['run']} (CV {label} {best['cv'][metric.name]:.4f}); "
                  f"to submit it: kaggletk predict {args.competition} --run {best['run']}")
    return 0


def _predict(args) -> int:
    if args.images is not None:
        return _predict_images(args)
    from kaggletk.submission import predict_run

    path = predict_run(args.competition, args.run, args.name)
    out.print(f"submission: {path}")
    return 0


def _predict_images(args) -> int:
    import numpy as np

    from kaggletk._io import write_text
    from kaggletk.data import load_dataset
    from kaggletk.inference import predict_images
    from kaggletk.store import load_run

    run = load_run(args.competition, args.run)
    proba = predict_images(run, args.images)
    comp = load_dataset(args.competition, run.manifest.data).competition
    labels = comp.to_label(proba.argmax(axis=1))
    header = ["row", "label"] + ([f"p_{v}" for v in comp.labels] if args.proba else [])
    lines = [",".join(header)] + [",".join([str(i), str(v), *((f"{p:.6g}" for p in row) if args.proba else ())])
                                  for i, (v, row) in enumerate(zip(labels, proba))]
    path = args.out or Path(f"{args.images}.predictions.csv")
    write_text(path, "\n".join(lines) + "\n")
    counts = ", ".join(f"{v} {n}" for v, n in zip(*np.unique(labels, return_counts=True)))
    out.print(f"{len(labels)} images predicted by {run.name} ({run.n_folds} fold models averaged): {counts}")
    out.print(f"predictions: {path}")
    return 0


def _validate(args) -> int:
    from kaggletk.submission import validate_submission

    rows = validate_submission(args.competition, args.file, args.data)
    out.print(f"{args.file}: valid ({rows} rows)")
    return 0


def _score(args) -> int:
    from kaggletk.submission import score_submission

    from kaggletk.competition import load_competition
    from kaggletk.metrics import get_metric

    result = score_submission(args.competition, args.file, args.data)
    metric = get_metric(load_competition(args.competition).metric)
    shown = [metric.name] + [k for k in ("accuracy", "macro_f1") if k != metric.name]
    scores = ", ".join(f"{get_metric(k).label} {result.scores[k]:.4f}" for k in shown)
    out.print(f"{args.file}: test {scores} ({result.n} rows)")
    return 0
