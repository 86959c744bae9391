"""``--ray``: the options that put ``kaggletk cv`` and ``kaggletk tune`` on a Ray cluster, and the grid run of ``cv --ray``.

Ray is imported only when a command runs with ``--ray``; ``kaggletk --help`` never imports it.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kaggletk.callbacks import Callback
from kaggletk.cli._common import err
from kaggletk.cli.progress import RichProgress
from kaggletk.errors import KaggletkError


def add_ray_options(parser: argparse.ArgumentParser, workers: bool = False) -> None:
    """``--ray [ADDRESS]``, ``--gpus-per-task``, ``--cpus-per-task`` (and ``--workers`` for tuning)."""
    group = parser.add_argument_group("Ray cluster (pip install 'kaggletk[ray]')")
    group.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                       help="train on Ray: alone, the cluster last started on this machine or a new local one; 'auto' a "
                            "running cluster; HOST:PORT of its head node; ray://HOST:10001 through Ray Client")
    group.add_argument("--gpus-per-task", type=float, metavar="G",
                       help="GPUs for each task of a model that can use one (0.5: two tasks share a GPU); default 1 for "
                            "neural nets when the cluster has GPUs")
    group.add_argument("--cpus-per-task", type=int, metavar="K",
                       help="CPUs, and the library's threads, of each task whose params do not set n_jobs (default 1)")
    if workers:
        group.add_argument("--workers", type=int, metavar="N", help="Optuna workers (Ray actors) running trials at once (default 2)")


def _ray_settings(args) -> dict[str, Any] | None:
    """The Ray options given, or None without ``--ray`` (refusing Ray options given without it)."""
    given = [flag for flag, value in (("--gpus-per-task", args.gpus_per_task), ("--cpus-per-task", args.cpus_per_task),
                                      ("--workers", getattr(args, "workers", None))) if value is not None]
    if args.ray is None:
        if given:
            raise KaggletkError(f"{given[0]} applies to Ray tasks; add --ray (alone: a local Ray cluster)")
        return None
    return {"address": args.ray or None, "gpus_per_task": args.gpus_per_task,
            "cpus_per_task": 1 if args.cpus_per_task is None else args.cpus_per_task}


def wants_ray(args) -> bool:
    """Whether the command runs on Ray (``--ray``); refuses Ray options given without it."""
    return _ray_settings(args) is not None


def executor_from(args):
    """A ``RayExecutor`` for ``--ray``, else None (folds train one after another here)."""
    settings = _ray_settings(args)
    if settings is None:
        return None
    from kaggletk.cv import RayExecutor

    return RayExecutor(**settings)


def optimizer_from(args):
    """A ``RayOptimizer`` for ``--ray`` (``--workers`` actors), else None (trials run here)."""
    settings = _ray_settings(args)
    if settings is None:
        return None
    from kaggletk.tune._ray import RayOptimizer

    return RayOptimizer(workers=2 if args.workers is None else args.workers, **settings)


def cv_on_ray(args, specs: list[tuple[str, str | None]], view_params: dict) -> int:
    """``kaggletk cv --ray``: every model of the list as one grid on Ray, then the summaries and leaderboard of a local run."""
    from kaggletk.cli.run import _leaderboard, _print_summary
    from kaggletk.cv import CvRequest, run_grid

    if getattr(args, "track", None):  # an MLflow run is one active run at a time; a grid's runs train at once
        raise KaggletkError(f"--track {args.track}: not with --ray yet; track the runs without --ray")
    requests = [CvRequest(args.competition, model, view=view, view_params=view_params, params=args.params, n_folds=args.folds,
                          scheme=args.scheme, device=args.device, precision=args.precision, data=args.data, seed=args.seed,
                          name=args.name if len(specs) == 1 else None, save_models=args.save_models,
                          pseudo_labels=args.pseudo_labels, pseudo_threshold=args.pseudo_threshold)
                for model, view in specs]
    executor = executor_from(args)
    with GridProgress() as progress:
        results = run_grid(requests, fold=args.fold, overwrite=args.overwrite, executor=executor,
                           callbacks=[[progress.bar(model)] for model, _ in specs])
    for result in results:
        _print_summary(result, args)
    if len(results) > 1:
        args.wide, args.csv, args.json = False, False, False
        _leaderboard(args)
    return 0


class GridProgress:
    """The bars of a grid's runs in one live display: per run, a local run's bar over folds and its line per fold."""

    def __init__(self):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[status]}"), console=err, transient=True)

    def __enter__(self) -> GridProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()  # started by the first fold's bar, if any

    def bar(self, label: str) -> Callback:
        """The callback of one run, labelled ``label`` (its model)."""
        return _RunBar(self.progress, label)


class _RunBar(RichProgress):
    """``RichProgress`` of one run of a grid, drawn in the grid's display; no step bar (steps stay in the Ray workers)."""

    def __init__(self, progress: Progress, label: str):
        self.label, self.progress, self._started = label, progress, False
        self.fold_task = progress.add_task(f"{label} folds", total=None, status="")
        self.step_task = progress.add_task("  steps", total=None, status="", visible=False)
