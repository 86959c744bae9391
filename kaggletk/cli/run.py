"""Commands that train and list runs: ``cv``, ``leaderboard``, ``models``."""

from __future__ import annotations

from kaggletk.cli._common import add_command, add_data, add_device, add_output, emit_records, note, out
from kaggletk.cli._ray import add_ray_options, cv_on_ray, wants_ray
from kaggletk.cli._tables import Col, fitted_table, print_table
from kaggletk.cv._pseudo import DEFAULT_THRESHOLD
from kaggletk.folds import FOLD_SCHEMES
from kaggletk.models import MODELS
from kaggletk.views import VIEWS


def register(sub) -> None:
    p = add_command(
        sub, "cv", _cv, "cross-validate models over the saved folds; write OOF and test predictions to oof/",
        "  kaggletk cv fashion_mnist --model xgb --view pca\n"
        "  kaggletk cv fashion_mnist --model cnn --params '{\"epochs\": 30}' --device auto\n"
        "  kaggletk cv sign_mnist --model default            # the competition's default set of models\n"
        "  kaggletk cv fashion_mnist --model cnn --fold 2    # one fold (spread folds over machines); rerun without --fold to finish",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--model", required=True, metavar="NAME",
                   help=f"model ({', '.join(MODELS)}), model:view, a comma-separated list, or 'default' (the competition's set)")
    p.add_argument("--view", choices=VIEWS.names(), metavar="VIEW", help=f"feature view ({', '.join(VIEWS)}); default: the model's")
    p.add_argument("--view-params", metavar="JSON", help="parameters of the view, e.g. '{\"n_components\": 40}' for pca")
    p.add_argument("--params", metavar="JSON|FILE|tuned", help="parameter overrides: a JSON object, a .json file, or 'tuned'")
    p.add_argument("--folds", type=int, metavar="K", help="K of the fold scheme (default: the competition's)")
    p.add_argument("--scheme", choices=FOLD_SCHEMES.names(), help="fold scheme (default: the competition's)")
    p.add_argument("--fold", type=int, metavar="I", help="train only fold I (0-based); rerun without --fold to finish the run")
    add_device(p)
    add_data(p, "full data, the bundled sample, or auto (full when available)")
    p.add_argument("--name", metavar="RUN", help="run name (default: <model>-<view>[-tuned][-sample])")
    p.add_argument("--seed", type=int, default=0, help="seed of the models (fold i uses seed+i); the folds keep their own")
    p.add_argument("--overwrite", action="store_true", help="start an existing run of this name again (its finished folds are retrained)")
    p.add_argument("--no-models", dest="save_models", action="store_false",
                   help="do not keep the fold models (then `predict --images` cannot use this run)")
    p.add_argument("--track", choices=["mlflow"], help="also log the run to MLflow ($MLFLOW_TRACKING_URI, else oof/<comp>/mlflow.db)")
    p.add_argument("--pseudo-labels", metavar="RUN",
                   help="also learn from the test images RUN's model of the same fold predicted confidently (round two)")
    p.add_argument("--pseudo-threshold", type=float, default=DEFAULT_THRESHOLD, metavar="P",
                   help=f"confidence a test prediction needs to become a pseudo-label (default {DEFAULT_THRESHOLD})")
    add_ray_options(p)

    p = add_command(sub, "leaderboard", _leaderboard, "every run and blend of a competition, best CV first",
                    "  kaggletk leaderboard fashion_mnist\n  kaggletk leaderboard sign_mnist --wide\n"
                    "  kaggletk leaderboard fashion_mnist --csv > runs.csv")
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--data", choices=("full", "sample"), help="only runs on this data")
    add_output(p)

    p = add_command(sub, "models", _models, "list the model adapters, the views they take and their default parameters",
                    "  kaggletk models\n  kaggletk models --wide")
    add_output(p)


def _model_specs(args) -> list[tuple[str, str | None]]:
    from kaggletk.competition import load_competition

    if args.model == "default":
        items = list(load_competition(args.competition).default_models)
    else:
        items = [m.strip() for m in args.model.split(",") if m.strip()]
    specs = []
    for item in items:
        model, _, view = item.partition(":")
        MODELS.get(model)  # unknown names fail before any training
        if view:
            VIEWS.get(view)
        specs.append((model, view or args.view))
    return specs


def _cv(args) -> int:
    from kaggletk.cli._common import parse_json_object
    from kaggletk.cli.progress import RichProgress
    from kaggletk.cv import CvRequest, run_cv

    specs = _model_specs(args)
    if len(specs) > 1 and args.name:
        note("--name applies to one model; ignoring it for the list")
    view_params = parse_json_object(args.view_params, "--view-params") if args.view_params else {}
    if wants_ray(args):  # the whole list as one grid of models x folds on the Ray cluster
        return cv_on_ray(args, specs, view_params)
    trackers = []
    if args.track == "mlflow":
        from kaggletk.tracking import MlflowTracker

        trackers.append(MlflowTracker(args.competition))
    results = []
    for model, view in specs:
        request = CvRequest(args.competition, model, view=view, view_params=view_params, params=args.params,
                            n_folds=args.folds, scheme=args.scheme, device=args.device, precision=args.precision,
                            data=args.data, seed=args.seed, name=args.name if len(specs) == 1 else None,
                            save_models=args.save_models, pseudo_labels=args.pseudo_labels,
                            pseudo_threshold=args.pseudo_threshold)
        with RichProgress(model) as progress:
            result = run_cv(request, fold=args.fold, overwrite=args.overwrite, callbacks=[progress, *trackers])
        results.append(result)
        _print_summary(result, args)
    if len(results) > 1:
        args.wide, args.csv, args.json = False, False, False
        _leaderboard(args)
    return 0


def _print_summary(result, args) -> None:
    from kaggletk.metrics import get_metric

    run = result.run
    m = run.manifest
    if not run.complete:
        rerun = " (rerun without --fold to train the others)" if args.fold is not None else ""
        out.print(f"{run.name}: {len(run.done_folds())}/{run.n_folds} folds done; missing "
                  f"{', '.join(f'fold-{f}' for f in run.missing_folds())}{rerun} -> {run.folder}")
        return
    cv, test = m.cv, m.test
    metric = get_metric(m.metric)
    shown = [metric.name] + [k for k in ("accuracy", "macro_f1") if k != metric.name]
    scores = ", ".join(f"{get_metric(k).label} {cv.mean[k]:.4f} ± {cv.std[k]:.4f}" for k in shown)
    line = f"[bold]{run.name}[/bold] ({m.model} on {m.view}, {m.data} data, {m.n_folds} {m.fold_scheme} folds {m.fold_hash}): CV {scores}"
    if test:
        line += f"; test {metric.label} {test.scores[metric.name]:.4f}"
        single = test.fold_models_mean(metric.name)
        if single is not None:
            line += f" (fold average; single fold models {single:.4f}, CV gap {cv.mean[metric.name] - single:+.4f})"
    else:
        line += "; no held-out labels: submit to score"
    line += f"; fit {cv.fit_seconds:.0f}s -> {run.folder}"
    out.print(line)


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _leaderboard(args) -> int:
    from kaggletk.competition import load_competition
    from kaggletk.leaderboard import leaderboard_rows
    from kaggletk.metrics import get_metric

    comp = load_competition(args.competition)  # a typo fails here, naming the close one
    data = getattr(args, "data", None)
    skipped: list[str] = []
    rows = leaderboard_rows(args.competition, data if data in ("full", "sample") else None, skipped=skipped)
    for line in skipped:
        note(line)
    label = get_metric(comp.metric).label
    cols = [Col("run", 0, "left"), Col("model", 4, "left"), Col("view", 4, "left"), Col("data", 5, "left"),
            Col("folds", 3), Col(f"CV {label}", 0, key="cv"), Col("±", 2, key="cv_std"), Col("macro-F1", 3, key="macro_f1"),
            Col("test", 1), Col("1-model test", 2, key="test_single"), Col("gap", 2), Col("fit s", 4, key="seconds"),
            Col("scheme", 6, "left"), Col("fold hash", 6, "left", key="fold_hash")]
    if emit_records(args, cols, rows):
        return 0
    if not rows:
        out.print(f"no runs for {args.competition} yet; start one with `kaggletk cv {args.competition} --model xgb`")
        return 0
    scored = any(r["test"] is not None for r in rows)
    caption = ("test: the submission (fold average or blend); 1-model test: the fold models alone, what CV estimates; "
               "gap: CV - 1-model test (none for blends)") if scored else "no held-out labels: submit to score"
    body = [[r["run"], r["model"], r["view"], r["data"], r["folds"], _fmt(r["cv"]), _fmt(r["cv_std"]), _fmt(r["macro_f1"]),
             _fmt(r["test"]), _fmt(r["test_single"]), _fmt(r["gap"], "+.4f"), _fmt(r["seconds"], ".0f"), r["scheme"],
             r["fold_hash"]] for r in rows]
    print_table(out, fitted_table(cols, body, width=out.width, wide=args.wide, caption=caption,
                           title=f"{args.competition} leaderboard (best CV {label} first)"), args.wide)
    return 0


def _models(args) -> int:
    import json

    from kaggletk.views import views_of_kind

    cols = [Col("model", 0, "left"), Col("views (default first)", 1, "left", key="views"), Col("GPU", 2, "left", key="gpu"),
            Col("default params", 3, "left", key="default_params")]
    records = []
    for name, cls in MODELS.items():
        views = [cls.default_view] + [v for v in views_of_kind(cls.accepts) if v != cls.default_view]
        records.append({"model": name, "views": ",".join(views), "gpu": "yes" if cls.supports_gpu else "no",
                        "default_params": json.dumps(cls.default_params())})
    if emit_records(args, cols, records):
        return 0
    print_table(out, fitted_table(cols, [[r[c.key or c.header] for c in cols] for r in records], width=out.width, wide=args.wide), args.wide)
    return 0
