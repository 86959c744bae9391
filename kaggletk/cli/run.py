"""Commands that train and list runs: ``cv``, ``leaderboard``, ``models``."""

from __future__ import annotations

from rich.table import Table

from kaggletk.cli._common import add_command, note, out
from kaggletk.views import VIEWS


def register(sub) -> None:
    p = add_command(
        sub, "cv", _cv, "cross-validate models over the saved folds; write OOF and test predictions to oof/",
        "  kaggletk cv fashion_mnist --model xgb --view pca\n"
        "  kaggletk cv fashion_mnist --model cnn --params '{\"epochs\": 30}' --device auto\n"
        "  kaggletk cv sign_mnist --model default            # the competition's default set of models\n"
        "  kaggletk cv fashion_mnist --model cnn --fold 2    # one fold (spread folds over machines)",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--model", required=True, metavar="NAME",
                   help="model name, model:view, a comma-separated list, or 'default' (the competition's set)")
    p.add_argument("--view", help=f"feature view ({', '.join(VIEWS)}); default: the model's")
    p.add_argument("--params", metavar="JSON|FILE|tuned", help="parameter overrides: a JSON object, a .json file, or 'tuned'")
    p.add_argument("--folds", type=int, metavar="K", help="K of the fold scheme (default: the competition's)")
    p.add_argument("--scheme", choices=("stratified", "random", "group"), help="fold scheme (default: the competition's)")
    p.add_argument("--fold", type=int, metavar="I", help="run only fold I")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--data", default="auto", choices=("auto", "full", "sample"),
                   help="full data, the bundled sample, or auto (full when available)")
    p.add_argument("--name", metavar="RUN", help="run name (default: <model>-<view>[-tuned][-sample])")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--early-stopping", default="inner", choices=("inner", "held-out"),
                   help="rows that early stopping watches: a tenth of the training part, dealt like the folds (default, "
                        "honest CV), or the held-out fold itself (optimistic CV)")
    p.add_argument("--overwrite", action="store_true", help="start an existing run of this name again (its finished folds are retrained)")

    p = add_command(sub, "leaderboard", _leaderboard, "every run and blend of a competition, best CV first",
                    "  kaggletk leaderboard fashion_mnist")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--data", choices=("full", "sample"), help="only runs on this data")

    add_command(sub, "models", _models, "list the model adapters, their views and default parameters",
                "  kaggletk models")


def _model_specs(args) -> list[tuple[str, str | None]]:
    from kaggletk.competition import load_competition

    if args.model == "default":
        items = list(load_competition(args.competition).default_models)
    else:
        items = [m.strip() for m in args.model.split(",") if m.strip()]
    specs = []
    for item in items:
        model, _, view = item.partition(":")
        specs.append((model, view or args.view))
    return specs


def _cv(args) -> int:
    from kaggletk.cli.progress import RichCvReporter
    from kaggletk.cv import run_cv
    from kaggletk.models import get_model_class

    specs = _model_specs(args)
    for model, _ in specs:
        get_model_class(model)  # unknown names fail before any training
    if len(specs) > 1 and args.name:
        note("--name applies to one model; ignoring it for the list")
    results = []
    for model, view in specs:
        with RichCvReporter(model) as reporter:
            result = run_cv(args.competition, model, view=view, params=args.params, n_folds=args.folds, scheme=args.scheme, fold=args.fold,
                            device=args.device, data=args.data, name=args.name if len(specs) == 1 else None,
                            seed=args.seed, early_stopping=args.early_stopping, overwrite=args.overwrite, reporter=reporter)
        results.append(result)
        _print_summary(result)
    if len(results) > 1:
        _leaderboard(args)
    return 0


def _print_summary(result) -> None:
    run = result.run
    m = run.manifest
    if result.skipped_folds:
        note(f"{run.name}: folds {', '.join(map(str, result.skipped_folds))} were already done (resumed)")
    if not run.complete:
        out.print(f"{run.name}: {len(run.done_folds())}/{run.n_folds} folds done; missing "
                  f"{', '.join(f'fold-{f}' for f in run.missing_folds())} -> {run.folder}")
        return
    cv, test = m["cv"], m.get("test")
    line = (f"[bold]{run.name}[/bold] ({m['model']} on {m['view']}, {m['data']} data, {m['n_folds']} {m['fold_scheme']} folds "
            f"{m['fold_hash']}): CV accuracy {cv['accuracy_mean']:.4f} ± {cv['accuracy_std']:.4f}, "
            f"macro-F1 {cv['macro_f1_mean']:.4f} ± {cv['macro_f1_std']:.4f}")
    if test:
        line += f"; test accuracy {test['accuracy']:.4f}"
        if test.get("fold_models_accuracy_mean") is not None:
            single = test["fold_models_accuracy_mean"]
            line += f" (fold average; single fold models {single:.4f}, CV gap {cv['accuracy_mean'] - single:+.4f})"
    line += f"; fit {cv['fit_seconds']:.0f}s -> {run.folder}"
    out.print(line)


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _leaderboard(args) -> int:
    from kaggletk.leaderboard import leaderboard_rows

    rows = leaderboard_rows(args.competition, getattr(args, "data", None) if getattr(args, "data", None) in ("full", "sample") else None)
    if not rows:
        out.print(f"no runs for {args.competition} yet; start one with `kaggletk cv {args.competition} --model xgb`")
        return 0
    table = Table("run", "model", "view", "data", "folds", "CV acc", "±", "macro-F1", "test acc", "1-model test", "gap", "fit s",
                  "scheme", "fold hash", title=f"{args.competition} leaderboard (best CV first)",
                  caption="test acc: the submission (fold average or blend); 1-model test: the fold models alone, what CV "
                          "estimates; gap: CV - 1-model test (blends: OOF - test)")
    for r in rows:
        table.add_row(r["run"], r["model"], r["view"], r["data"], r["folds"], _fmt(r["cv"]), _fmt(r["cv_std"]), _fmt(r["f1"]),
                      _fmt(r["test"]), _fmt(r["test_single"]), _fmt(r["gap"], "+.4f"), _fmt(r["seconds"], ".0f"), r["scheme"],
                      r["fold_hash"])
    out.print(table)
    return 0


def _models(args) -> int:
    import json

    from kaggletk.models import MODELS, get_model_class

    table = Table("model", "views (default first)", "GPU", "default params")
    for name in MODELS:
        cls = get_model_class(name)
        views = [cls.default_view] + [v for v in cls.views if v != cls.default_view]
        table.add_row(name, ", ".join(views), "yes" if cls.supports_gpu else "no", json.dumps(cls.default_params()))
    out.print(table)
    return 0
