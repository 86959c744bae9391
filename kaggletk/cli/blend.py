"""Commands that combine and hand in: ``blend``, ``predict``, ``validate``, ``score``."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from kaggletk.cli._common import add_command, note, out


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
    p.add_argument("--method", default="auto", choices=("auto", "mean", "rank", "hill", "stack"),
                   help="auto runs every method and keeps the best out-of-fold score")
    p.add_argument("--stacker", default="logreg", choices=("logreg", "lgbm"), help="level-2 model of --method stack")
    p.add_argument("--log-odds", action="store_true", help="stack on log-odds instead of probabilities")
    p.add_argument("--name", metavar="NAME", help="blend name (default blend-<method>[-sample])")
    p.add_argument("--data", default="auto", choices=("auto", "full", "sample"), help="which data's runs --all takes")

    p = add_command(sub, "predict", _predict, "write the submission file of one run or blend",
                    "  kaggletk predict fashion_mnist --run cnn-image\n  kaggletk predict sign_mnist --run blend-auto --name final")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--run", required=True, metavar="RUN")
    p.add_argument("--name", metavar="NAME", help="file name under submissions/<comp>/ (default: the run name)")

    p = add_command(sub, "validate", _validate, "check a submission CSV (columns, rows, IDs, labels) and name the first bad row",
                    "  kaggletk validate sign_mnist submissions/sign_mnist/blend-auto.csv")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--data", default="auto", choices=("auto", "full", "sample"), help="which test set the file answers")

    p = add_command(sub, "score", _score, "score a submission against held-out test labels (local scoring)",
                    "  kaggletk score fashion_mnist submissions/fashion_mnist/blend-auto.csv")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("--data", default="auto", choices=("auto", "full", "sample"), help="which test set the file answers")


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _blend(args) -> int:
    from kaggletk.blend import run_blend
    from kaggletk.submission import dataset_of, write_submission

    names = [r.strip() for r in args.runs.split(",") if r.strip()] if args.runs else None
    result = run_blend(args.competition, names, method=args.method, name=args.name, data=args.data,
                       stacker=args.stacker, log_odds=args.log_odds, notify=note)
    table = Table("method", "OOF accuracy", "OOF macro-F1", "test accuracy", "seconds", "weights",
                  title=f"{args.competition}: blend methods and input runs, scored on the same folds ({result.run.fold_hash})")
    for row in result.table:
        weights = row["details"].get("weights") or {}
        shown = ", ".join(f"{k} {v:.2f}" for k, v in weights.items() if v > 0) if row["method"] in ("hill", "stack") else ""
        mark = " <- chosen" if row["method"] == result.chosen else ""
        table.add_row(row["method"] + mark, _fmt(row["oof_accuracy"]), _fmt(row["oof_macro_f1"]),
                      _fmt((row["test"] or {}).get("accuracy")), _fmt(row["seconds"], ".2f"), shown)
    out.print(table)
    path = write_submission(dataset_of(result.run), result.run.test(), result.run.name)
    blended = result.run.manifest["cv"]["oof_accuracy"]
    out.print(f"{result.run.name}: {result.chosen}, OOF accuracy {blended:.4f} -> {result.run.folder}")
    out.print(f"submission: {path}")
    best = result.best_single
    if best is not None and best["oof_accuracy"] >= blended:
        out.print(f"note: no blend beats the best single run {best['run']} (OOF {best['oof_accuracy']:.4f}); to submit it: "
                  f"kaggletk predict {args.competition} --run {best['run']}")
    return 0


def _predict(args) -> int:
    from kaggletk.submission import predict_run

    path = predict_run(args.competition, args.run, args.name)
    out.print(f"submission: {path}")
    return 0


def _validate(args) -> int:
    from kaggletk.submission import validate_submission

    frame = validate_submission(args.competition, args.file, args.data)
    out.print(f"{args.file}: valid ({len(frame)} rows)")
    return 0


def _score(args) -> int:
    from kaggletk.submission import score_submission

    result = score_submission(args.competition, args.file, args.data)
    out.print(f"{args.file}: test accuracy {result.accuracy:.4f}, macro-F1 {result.macro_f1:.4f} ({result.n} rows)")
    return 0
