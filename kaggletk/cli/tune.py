"""Commands that search parameters: ``tune`` and ``sweep``."""

from __future__ import annotations

import json

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kaggletk.callbacks import TrialInfo
from kaggletk.cli._common import Notes, add_command, add_data, add_device, err, out
from kaggletk.cli._ray import add_ray_options, optimizer_from
from kaggletk.cli._tables import Col, fitted_table, print_table
from kaggletk.models import MODELS
from kaggletk.tune._study import PRUNERS
from kaggletk.views import VIEWS


def register(sub) -> None:
    p = add_command(
        sub, "tune", _tune, "tune a model's parameters with Optuna over the saved folds; save the best for --params tuned",
        "  kaggletk tune fashion_mnist --model xgb --view pca --trials 30\n"
        "  kaggletk tune fashion_mnist --model cnn --trials 10 --folds 1 --timeout 3600\n"
        "  kaggletk tune sign_mnist --model lgbm --storage postgresql://user:pw@db-host/optuna --study signs-lgbm   # one per machine",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--model", required=True, metavar="NAME", choices=MODELS.names(),
                   help=f"the model to tune ({', '.join(MODELS)})")
    p.add_argument("--view", choices=VIEWS.names(), metavar="VIEW", help="feature view (default: the model's)")
    p.add_argument("--params", metavar="JSON|FILE", help="fixed parameters under the searched ones, e.g. '{\"epochs\": 10}'")
    p.add_argument("--trials", type=int, default=20, help="finished trials the study should hold (workers share them)")
    p.add_argument("--timeout", type=float, metavar="S", help="stop starting new trials after S seconds")
    p.add_argument("--folds", type=int, metavar="K", help="use the first K saved folds per trial (default: all)")
    p.add_argument("--storage", metavar="URL", help="Optuna storage: sqlite:///PATH, postgresql://..., journal:PATH "
                                                      "(default: sqlite under oof/<comp>/)")
    p.add_argument("--study", metavar="NAME", help="study name (default: <comp>-<model>-<view>[-sample])")
    p.add_argument("--pruner", default="median", choices=PRUNERS.names(), help="stops bad trials after a fold or inside one")
    p.add_argument("--replicates", type=int, default=0, metavar="R",
                   help="re-run the best params with R seeds and report mean ± std")
    add_device(p)
    add_data(p)
    p.add_argument("--seed", type=int, help="seed of the TPE sampler (reproducible single-worker studies)")
    p.add_argument("--heartbeat", type=int, default=60, metavar="S",
                   help="seconds between a worker's heartbeats; a killed worker's trial is retried after 2xS")
    add_ray_options(p, workers=True)

    p = add_command(
        sub, "sweep", _sweep, "train one model over a grid of one parameter, with replicates (for error-bar plots)",
        "  kaggletk sweep fashion_mnist --model mlp --param dropout --values 0.0,0.2,0.4 --replicates 3\n"
        "  kaggletk sweep sign_mnist --model xgb --view pca --param max_depth --values 3,6,9 --folds 2",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--model", required=True, metavar="NAME", choices=MODELS.names(), help=f"the model ({', '.join(MODELS)})")
    p.add_argument("--param", required=True, metavar="P", help="the parameter to vary, e.g. dropout or max_depth")
    p.add_argument("--values", required=True, metavar="V1,V2,...", help="its values, comma-separated (numbers, true/false, text)")
    p.add_argument("--replicates", type=int, default=3, metavar="R", help="seeds per value (default 3), for error bars")
    p.add_argument("--view", choices=VIEWS.names(), metavar="VIEW", help="feature view (default: the model's)")
    p.add_argument("--params", metavar="JSON|FILE|tuned", help="the other parameters")
    p.add_argument("--folds", type=int, default=1, metavar="K", help="train on the first K saved folds (default 1)")
    add_device(p)
    add_data(p)
    p.add_argument("--name", metavar="NAME", help="sweep name (default <model>-<view>-<param>[-sample])")



class TrialProgress(Notes):
    """A bar over trials and one line per finished trial."""

    def __init__(self, what: str = "trials"):
        self.progress = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=err, transient=True)
        self.task = None

    def on_trials_begin(self, total: int, done: int) -> None:
        if done < total:
            self.progress.start()
            self.task = self.progress.add_task("trials", total=total, completed=done)

    def on_trial_end(self, trial: TrialInfo) -> None:
        from kaggletk.metrics import get_metric

        label = get_metric(trial.metric).label
        shown = f"CV {label} {trial.score:.4f}" if trial.score is not None else "no score"
        if trial.detail:
            shown += f" ({trial.detail})" if trial.score is not None else f"; {trial.detail}"
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
        err.print(f"  trial {trial.number}: {trial.state}, {shown}; {params}")
        if self.task is not None:
            self.progress.update(self.task, completed=trial.finished)

    def stop(self) -> None:
        if self.task is not None:
            self.progress.stop()


def _request(args):
    from kaggletk.cv import CvRequest

    return CvRequest(args.competition, args.model, view=args.view, params=args.params, device=args.device,
                     precision=args.precision, data=args.data)


def _tune(args) -> int:
    from kaggletk.metrics import get_metric
    from kaggletk.tune import TuneOptions, run_tune

    options = TuneOptions(trials=args.trials, timeout=args.timeout, n_folds_used=args.folds, storage=args.storage,
                          study=args.study, pruner=args.pruner, sampler_seed=args.seed, replicates=args.replicates,
                          heartbeat_seconds=args.heartbeat)
    progress = TrialProgress()
    try:
        result = run_tune(_request(args), options, callbacks=[progress], optimizer=optimizer_from(args))
    finally:
        progress.stop()
    label = get_metric(result.metric).label
    cols = [Col("trial", 0), Col(f"CV {label}", 0), Col("seconds", 2), Col("params", 1, "left")]
    body = [[row["number"], f"{row['score']:.4f}", f"{row['seconds'] or 0:.0f}",
             ", ".join(f"{k}={_short(v)}" for k, v in row["params"].items())] for row in result.trials[:5]]
    print_table(out, fitted_table(cols, body, width=out.width, title=f"best trials of study {result.study_name}"), False)
    out.print(f"study storage: {result.storage}")
    data = "" if args.data == "auto" else f" --data {args.data}"
    out.print(f"best CV {label} {result.best_score:.4f}; params saved to {result.tuned_file} (use: kaggletk cv "
              f"{args.competition} --model {args.model}{data} --params tuned)")
    if result.replicates:
        r = result.replicates
        out.print(f"replicates ({len(r['seeds'])} seeds): {label} {r['mean']:.4f} ± {r['std']:.4f}")
    return 0


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _sweep(args) -> int:
    from kaggletk.tune import parse_values, run_sweep

    progress = TrialProgress("replicates")
    try:
        result = run_sweep(_request(args), args.param, parse_values(args.values), replicates=args.replicates,
                           n_folds_used=args.folds, name=args.name, callbacks=[progress])
    finally:
        progress.stop()
    cols = [Col(args.param, 0, "left"), Col("mean", 0), Col("± std", 0), Col("replicates", 1)]
    body = [[json.dumps(row["value"]), f"{row['mean']:.4f}", f"{row['std']:.4f}", row["n"]] for row in result.summary]
    print_table(out, fitted_table(cols, body, width=out.width, title=f"sweep of {args.param}"), False)
    out.print(f"saved: {result.path}")
    return 0
