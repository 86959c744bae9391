"""Commands that search parameters: ``tune`` and ``sweep``."""

from __future__ import annotations

import json

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from kaggletk.cli._common import add_command, err, note, out


def register(sub) -> None:
    p = add_command(
        sub, "tune", _tune, "tune a model's parameters with Optuna over the saved folds; save the best for --params tuned",
        "  kaggletk tune fashion_mnist --model xgb --view pca --trials 30\n"
        "  kaggletk tune fashion_mnist --model cnn --trials 10 --folds 1 --timeout 3600\n"
        "  kaggletk tune sign_mnist --model lgbm --storage postgresql://user:pw@db-host/optuna --study signs-lgbm   # one per machine",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--model", required=True, metavar="NAME")
    p.add_argument("--view", help="feature view (default: the model's)")
    p.add_argument("--params", metavar="JSON|FILE", help="fixed parameters under the searched ones, e.g. '{\"epochs\": 10}'")
    p.add_argument("--trials", type=int, default=20, help="finished trials the study should hold (workers share them)")
    p.add_argument("--timeout", type=float, metavar="S", help="stop starting new trials after S seconds")
    p.add_argument("--folds", type=int, metavar="K", help="use the first K saved folds per trial (default: all)")
    p.add_argument("--storage", metavar="URL", help="Optuna storage: sqlite:///PATH, postgresql://..., journal:PATH "
                                                      "(default: sqlite under oof/<comp>/)")
    p.add_argument("--study", metavar="NAME", help="study name (default: <comp>-<model>-<view>[-sample])")
    p.add_argument("--pruner", default="median", choices=("median", "halving", "none"))
    p.add_argument("--replicates", type=int, default=0, metavar="R", help="re-run the best params with R seeds: mean ± std")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--data", default="auto", choices=("auto", "full", "sample"))
    p.add_argument("--seed", type=int, help="sampler seed (reproducible single-worker studies)")
    p.add_argument("--heartbeat", type=int, default=60, metavar="S",
                   help="seconds between a worker's heartbeats; a killed worker's trial is retried after 2xS")

    p = add_command(
        sub, "sweep", _sweep, "train one model over a grid of one parameter, with replicates (for error-bar plots)",
        "  kaggletk sweep fashion_mnist --model mlp --param dropout --values 0.0,0.2,0.4 --replicates 3\n"
        "  kaggletk sweep sign_mnist --model xgb --view pca --param max_depth --values 3,6,9 --folds 2",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--model", required=True, metavar="NAME")
    p.add_argument("--param", required=True, metavar="P")
    p.add_argument("--values", required=True, metavar="V1,V2,...")
    p.add_argument("--replicates", type=int, default=3, metavar="R")
    p.add_argument("--view")
    p.add_argument("--params", metavar="JSON|FILE|tuned", help="the other parameters")
    p.add_argument("--folds", type=int, default=1, metavar="K", help="train on the first K saved folds (default 1)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    p.add_argument("--data", default="auto", choices=("auto", "full", "sample"))
    p.add_argument("--name", metavar="NAME", help="sweep name (default <model>-<view>-<param>[-sample])")


def _tune(args) -> int:
    from kaggletk.tune import TuneReporter, run_tune

    class Reporter(TuneReporter):
        def __init__(self):
            self.progress = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                     console=err, transient=True)
            self.task = None

        def note(self, message):
            note(message)

        def start(self, total, done):
            if done < total:
                self.progress.start()
                self.task = self.progress.add_task("trials", total=total, completed=done)

        def trial_end(self, trial, finished):
            from kaggletk.tune import FOLD_STEP

            state = trial.state.name.lower()
            acc = trial.user_attrs.get("accuracy")
            if acc is not None:
                shown = f"CV accuracy {acc:.4f}"
            elif trial.intermediate_values:
                step = max(trial.intermediate_values)
                value = trial.intermediate_values[step]
                shown = (f"CV accuracy {1 - value:.4f} after {step - FOLD_STEP + 1} fold(s)" if step >= FOLD_STEP
                         else f"validation loss {value:.4f} at epoch/round {step} of the first fold")
            else:
                shown = "no score"
            params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items())
            err.print(f"  trial {trial.number}: {state}, {shown}; {params}")
            if self.task is not None:
                self.progress.update(self.task, completed=finished)

        def stop(self):
            if self.task is not None:
                self.progress.stop()

    reporter = Reporter()
    try:
        result = run_tune(args.competition, args.model, view=args.view, params=args.params, trials=args.trials, timeout=args.timeout,
                          n_folds_used=args.folds, storage=args.storage, study=args.study, device=args.device, data=args.data,
                          seed=args.seed, pruner=args.pruner, replicates=args.replicates, heartbeat_seconds=args.heartbeat,
                          reporter=reporter)
    finally:
        reporter.stop()
    table = Table("trial", "CV accuracy", "seconds", "params", title=f"best trials of study {result.study_name} ({result.storage})")
    for row in result.trials[:5]:
        table.add_row(str(row["number"]), f"{row['accuracy']:.4f}", f"{row['seconds'] or 0:.0f}",
                      ", ".join(f"{k}={_short(v)}" for k, v in row["params"].items()))
    out.print(table)
    out.print(f"best CV accuracy {result.best_accuracy:.4f}; params saved to {result.tuned_file} (use: kaggletk cv "
              f"{args.competition} --model {args.model} --params tuned)")
    if result.replicates:
        r = result.replicates
        out.print(f"replicates ({len(r['seeds'])} seeds): accuracy {r['mean']:.4f} ± {r['std']:.4f}")
    return 0


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _sweep(args) -> int:
    from kaggletk.tune import parse_values, run_sweep

    def on_result(row):
        err.print(f"  {args.param}={_short(row['value'])} seed {row['seed']}: accuracy {row['accuracy']:.4f} "
                  f"({row['fit_seconds']:.0f}s)")

    result = run_sweep(args.competition, args.model, args.param, parse_values(args.values), replicates=args.replicates,
                       view=args.view, params=args.params, n_folds_used=args.folds, device=args.device, data=args.data,
                       name=args.name, notify=note, on_result=on_result)
    table = Table(args.param, "accuracy mean", "± std", "replicates", title=f"sweep of {args.param} ({result.path})")
    for row in result.summary:
        table.add_row(json.dumps(row["value"]), f"{row['mean']:.4f}", f"{row['std']:.4f}", str(row["n"]))
    out.print(table)
    return 0
