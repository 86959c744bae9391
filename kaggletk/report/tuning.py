"""Optuna studies written by ``kaggletk tune``: ``oof/<comp>/optuna.db``, one study per model and view.

Studies are named ``<comp>-<model>-<view>``. Their plots come from Optuna's own visualisation
module (matplotlib backend), which draws through pyplot and sets the ``ggplot`` style: both are
confined here (``rc_context``, ``pyplot.ioff``), and every figure is closed once saved.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

from kaggletk.errors import KaggletkError


@dataclass
class StudySummary:
    name: str
    direction: str
    target: str
    n_complete: int
    n_pruned: int
    n_failed: int
    best_value: float | None
    best_params: dict[str, Any]
    study: Any = field(repr=False)
    best_accuracy: float | None = None  # the best trial's CV accuracy, when the objective recorded it


def _target_name(study, complete) -> str:
    """What the objective is: its declared metric name, else ``kaggletk tune``'s (1 − CV accuracy, minimised)."""
    names = getattr(study, "metric_names", None)
    if names and names[0]:
        return names[0]
    if complete and "accuracy" in complete[0].user_attrs and study.direction.name == "MINIMIZE":
        return "CV error (1 − accuracy)"
    return "objective value"


@contextlib.contextmanager
def open_studies(db: Path, comp: str, fingerprint: str | None = None) -> Iterator[tuple[list[StudySummary], list[str]]]:
    """The competition's studies in ``db`` (name ``<comp>-...``), and notes on what was skipped.

    A study that records its data (user attribute ``data_fingerprint``, set by ``kaggletk tune``)
    is left out when that is not ``fingerprint``. The storage is closed when the block ends.
    """
    if not db.exists():
        yield [], []
        return
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        storage = optuna.storages.RDBStorage(f"sqlite:///{db.resolve()}")
    except Exception as exc:  # an unreadable or foreign database: say so, keep the rest of the report
        optuna.logging.set_verbosity(verbosity)
        reason = (str(exc).splitlines() or [""])[0]
        raise KaggletkError(f"{db}: cannot open the Optuna storage ({type(exc).__name__}: {reason}); "
                            "delete or repair the file") from exc
    try:
        summaries, notes = [], []
        for name in sorted(optuna.study.get_all_study_names(storage=storage)):
            if not name.startswith(f"{comp}-"):
                continue
            study = optuna.load_study(study_name=name, storage=storage)
            made_on = study.user_attrs.get("data_fingerprint")
            if fingerprint and made_on and made_on != fingerprint:
                notes.append(f"study {name}: made on other data ({made_on}), left out")
                continue
            if len(study.directions) > 1:
                notes.append(f"study {name}: multi-objective, not plotted")
                continue
            trials = study.get_trials(deepcopy=False)
            states = optuna.trial.TrialState
            complete = [t for t in trials if t.state == states.COMPLETE]
            best = study.best_trial if complete else None
            summaries.append(StudySummary(
                name, study.direction.name.lower(), _target_name(study, complete), len(complete),
                sum(t.state == states.PRUNED for t in trials), sum(t.state == states.FAIL for t in trials),
                best.value if best else None, dict(best.params) if best else {}, study,
                best.user_attrs.get("accuracy") if best else None))
        yield summaries, notes
    finally:
        optuna.logging.set_verbosity(verbosity)
        with contextlib.suppress(Exception):
            storage.remove_session()
            storage.engine.dispose()


def can_rank_params(summary: StudySummary) -> str | None:
    """Why parameter importances cannot be computed for this study, or None when they can."""
    import optuna

    complete = summary.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return f"{len(complete)} completed trial(s); importances need at least 2"
    varying = {k for k in complete[0].params if len({repr(t.params.get(k)) for t in complete}) > 1}
    if not varying:
        return "no parameter varies between the completed trials"
    return None


def study_figures(summary: StudySummary) -> Iterator[tuple[str, Any]]:
    """Yield ("history", Figure) and, when possible, ("importances", Figure), or ("note", str) for a skip.

    Save each figure before asking for the next: the style and pyplot state are restored when the
    generator finishes.
    """
    import optuna
    from matplotlib import pyplot as plt
    from optuna.visualization import matplotlib as optuna_plots

    with warnings.catch_warnings(), matplotlib.rc_context(), plt.ioff():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)
        if summary.n_complete == 0:
            yield "note", f"study {summary.name}: no completed trials yet"
            return
        ax = optuna_plots.plot_optimization_history(summary.study, target_name=summary.target)
        ax.set_title(f"Optimisation history: {summary.name} ({summary.direction})")
        ax.set_xlabel("trial number")
        _relayout(ax.figure)
        yield "history", ax.figure
        reason = can_rank_params(summary)
        if reason:
            yield "note", f"study {summary.name}: no parameter importances ({reason})"
            return
        try:
            ax = optuna_plots.plot_param_importances(summary.study, target_name=summary.target)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            yield "note", f"study {summary.name}: no parameter importances ({exc})"
            return
        ax.set_title(f"Parameter importances: {summary.name}", loc="left")
        _relayout(ax.figure)
        yield "importances", ax.figure


def _relayout(fig) -> None:
    """Optuna's figures are small with the legend outside: widen them and let constrained layout fit it."""
    fig.set_size_inches(8.0, 4.2)
    fig.set_layout_engine("constrained")
