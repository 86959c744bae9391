"""The report's matplotlib figures: one function per figure, each returning a titled, labelled ``Figure``.

Figures are ``matplotlib.figure.Figure`` objects drawn by the Agg canvas, never through pyplot, so
building a report changes no global backend or style of the calling program (a notebook keeps its
own). ``save_figure`` refuses a figure with an unlabelled axis or no title, writes the PNG
atomically and releases the figure.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from kaggletk._io import atomic_path

DPI = 80
_STYLE = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "figure.titlesize": 11, "axes.grid": False, "savefig.dpi": DPI,
}
_FOLD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
MAX_CURVE_FOLDS = 10


@contextlib.contextmanager
def style() -> Iterator[None]:
    """The report's font sizes, restored on exit (``rc_context``), so callers' settings are untouched."""
    with matplotlib.rc_context(_STYLE):
        yield


def new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_problems(fig: Figure) -> list[str]:
    """What keeps ``fig`` from being readable: a visible axis without a label, a plot without a title.

    Image grids (axes switched off) need only a title; colour bars need their label.
    """
    problems = []
    suptitle = fig.get_suptitle()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    if not axes:
        return ["figure has no axes"]
    for i, ax in enumerate(axes):
        colorbar = getattr(ax, "_colorbar", None)
        if colorbar is not None:
            label = ax.get_ylabel() if colorbar.orientation == "vertical" else ax.get_xlabel()
            if not label:
                problems.append(f"colour bar {i} has no label")
            continue
        if not suptitle and not any(ax.get_title(loc) for loc in ("center", "left", "right")):
            problems.append(f"axes {i} has no title (and the figure no suptitle)")
        if ax.axison:
            if not ax.get_xlabel():
                problems.append(f"axes {i} ({ax.get_title() or suptitle}) has no x label")
            if not ax.get_ylabel():
                problems.append(f"axes {i} ({ax.get_title() or suptitle}) has no y label")
    return problems


def figure_title(fig: Figure) -> str:
    suptitle = fig.get_suptitle()
    if suptitle:
        return suptitle
    for ax in fig.axes:
        for loc in ("center", "left", "right"):
            if ax.get_title(loc):
                return ax.get_title(loc)
    return ""


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (atomically) and release it; refuse unlabelled figures."""
    problems = figure_problems(fig)
    if problems:
        close_figure(fig)
        raise ValueError(f"figure {path.name} is not fully labelled: {'; '.join(problems)}")
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
    finally:
        close_figure(fig)
    return path


def close_figure(fig: Figure) -> None:
    """Forget ``fig``: pyplot figures (Optuna's) are closed in pyplot; ours are simply cleared."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and getattr(fig.canvas, "manager", None) is not None:
        pyplot.close(fig)
    else:
        fig.clear()


def _class_xticks(ax, positions, class_names: Sequence[str]) -> None:
    """Class names under the x axis, slanted when they are words (Fashion) rather than letters (Signs)."""
    words = max(map(len, class_names)) > 3
    ax.set_xticks(positions, class_names, rotation=45 if words else 0, ha="right" if words else "center")


# ---------------------------------------------------------------- leaderboard and data


def leaderboard_figure(runs: Sequence[str], cv: Sequence[float], cv_std: Sequence[float], test: Sequence[float | None],
                       seconds: Sequence[float | None], title: str, metric: str = "accuracy") -> Figure:
    """CV score ± std per run in the competition's ``metric`` (test score marked) beside fit time per run."""
    n = len(runs)
    fig = new_figure(11, 1.5 + 0.32 * n)
    left, right = fig.subplots(1, 2, sharey=True, width_ratios=(3, 2))
    ypos = np.arange(n)[::-1]
    left.errorbar(cv, ypos, xerr=cv_std, fmt="o", capsize=3, color="#1f77b4", label=f"CV {metric} (mean ± std over folds)")
    has_test = [i for i, t in enumerate(test) if t is not None]
    if has_test:
        left.scatter([test[i] for i in has_test], ypos[has_test], marker="x", color="#d62728", zorder=3,
                     label=f"held-out test {metric}")
    left.set_yticks(ypos, runs)
    left.set_xlabel(metric)
    left.set_ylabel("run")
    left.set_title(f"CV {metric} per run")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=2, frameon=False)
    secs = np.array([s or 0.0 for s in seconds], dtype=float)
    right.barh(ypos, secs, color="#7f7f7f")
    if secs.max(initial=0) > 0 and secs[secs > 0].min() * 50 < secs.max():
        right.set_xscale("log")
    right.set_xlabel("fit time, all folds (seconds)")
    right.set_ylabel("run")
    right.set_title("Training time per run")
    fig.suptitle(title)
    return fig


def class_distribution_figure(class_names: Sequence[str], train_counts: np.ndarray, test_counts: np.ndarray | None,
                              title: str) -> Figure:
    n = len(class_names)
    fig = new_figure(max(6.0, 0.42 * n + 2), 3.6)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.4 if test_counts is not None else 0.8
    ax.bar(x - (width / 2 if test_counts is not None else 0), train_counts, width, label="train", color="#1f77b4")
    if test_counts is not None:
        ax.bar(x + width / 2, test_counts, width, label="test (held-out labels)", color="#ff7f0e")
    _class_xticks(ax, x, class_names)
    ax.set_xlabel("class")
    ax.set_ylabel("number of images")
    ax.set_title(title)
    ax.set_ylim(0, max(1, int(train_counts.max())) * 1.2)  # room for the legend above the bars
    ax.legend(loc="upper right", ncols=2)
    return fig


def mosaic(images: np.ndarray, rows: int, cols: int, gap: int = 2) -> np.ndarray:
    """Tile ``images`` (rows*cols, h, w[, c]) into one array with ``gap`` pixels between tiles (NaN: blank)."""
    h, w = images.shape[1:3]
    canvas = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, *images.shape[3:]), np.nan, dtype=np.float32)
    for k, img in enumerate(images[: rows * cols]):
        r, c = divmod(k, cols)
        canvas[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = img
    return canvas


def show_image(ax, image: np.ndarray) -> None:
    """Draw a grayscale (h, w) or RGB (h, w, 3) image of 0-255 values; NaN pixels (gaps of a mosaic) are white."""
    if image.ndim == 3:
        ax.imshow(np.nan_to_num(np.asarray(image, dtype=np.float32) / 255.0, nan=1.0).clip(0, 1), interpolation="nearest")
    else:
        cmap = matplotlib.colormaps["gray"].with_extremes(bad="white")
        ax.imshow(image, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")


def sample_grid_figure(class_names: Sequence[str], images_per_class: list[np.ndarray], title: str) -> Figure:
    """One row of example images per class, drawn as a single mosaic (fast for 24 classes)."""
    n_classes = len(class_names)
    cols = max((len(imgs) for imgs in images_per_class), default=1) or 1
    shape = next((imgs.shape[1:] for imgs in images_per_class if len(imgs)), (1, 1))
    h, w = shape[:2]
    tiles = np.full((n_classes * cols, *shape), np.nan, dtype=np.float32)
    for c, imgs in enumerate(images_per_class):
        tiles[c * cols: c * cols + len(imgs)] = imgs
    canvas = mosaic(tiles, n_classes, cols)
    fig = new_figure(1.6 + 0.5 * cols, 0.8 + 0.5 * n_classes)
    ax = fig.add_subplot()
    show_image(ax, canvas)
    ax.set_yticks([(h + 2) * r + h / 2 for r in range(n_classes)], class_names)
    ax.set_xticks([(w + 2) * c + w / 2 for c in range(cols)], [str(c + 1) for c in range(cols)])
    ax.set_xlabel("example (random training images)")
    ax.set_ylabel("class")
    ax.set_title(title)
    return fig


# ---------------------------------------------------------------- training curves

# Histories use the standard keys (kaggletk.callbacks.STANDARD_KEYS): a family covers ``x`` and ``val_x``.
_FAMILY_NAMES = {"loss": "loss (cross-entropy)", "accuracy": "accuracy", "learning_rate": "learning rate"}


def history_families(history: dict[str, list[float]]) -> list[str]:
    """Metric families of a history (``loss`` covers ``loss`` and ``val_loss``), Keras order first."""
    families = []
    for key in history:
        family = key[4:] if key.startswith("val_") else key
        if family not in families:
            families.append(family)
    order = {"loss": 0, "accuracy": 1, "learning_rate": 2}
    return sorted(families, key=lambda f: order.get(f, 3))


def curves_figure(histories: dict[int, dict[str, list[float]]], step_name: str, title: str) -> Figure:
    """One panel per metric family; a colour per fold; training solid, validation dashed."""
    families = []
    for history in histories.values():
        families.extend(f for f in history_families(history) if f not in families)
    families = families[:4]
    fig = new_figure(max(4.0, 3.7 * len(families)), 3.4)
    axes = np.atleast_1d(fig.subplots(1, len(families)))
    folds = sorted(histories)[:MAX_CURVE_FOLDS]
    for ax, family in zip(axes, families):
        name = _FAMILY_NAMES.get(family, family.replace("_", " "))
        positive = []
        for fold in folds:
            history, colour = histories[fold], _FOLD_COLOURS[fold % len(_FOLD_COLOURS)]
            for key, dash in ((family, "-"), (f"val_{family}", "--")):
                values = history.get(key)
                if not values:
                    continue
                steps = np.arange(1, len(values) + 1)
                ax.plot(steps, values, dash, color=colour, linewidth=1.2, marker="o" if len(values) <= 3 else None,
                        markersize=3)
                positive.extend(v for v in values if v > 0)
        if family == "learning_rate" and positive and max(positive) > 10 * min(positive):
            ax.set_yscale("log")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(step_name)
        ax.set_ylabel(name)
        only_valid = not any(family in h for h in histories.values())
        ax.set_title(name[0].upper() + name[1:] + (" (validation rows)" if only_valid else ""))
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=_FOLD_COLOURS[f % len(_FOLD_COLOURS)], label=f"fold {f}") for f in folds]
    keys = {key for history in histories.values() for key in history}
    if any(not key.startswith("val_") and key != "learning_rate" for key in keys):
        handles.append(Line2D([], [], color="black", linestyle="-", label="training"))
    if any(key.startswith("val_") for key in keys):
        handles.append(Line2D([], [], color="black", linestyle="--", label="validation (stopping rows)"))
    fig.legend(handles=handles, loc="outside right center", fontsize=7)
    fig.suptitle(title)
    return fig


# ---------------------------------------------------------------- per run


def confusion_figure(counts: np.ndarray, class_names: Sequence[str], title: str) -> Figure:
    """Colour: share of each true class (row-normalised); text: the counts (zeros left blank)."""
    n = len(class_names)
    side = 3.0 + 0.27 * n
    fig = new_figure(side + 1.2, side)
    ax = fig.add_subplot()
    totals = counts.sum(axis=1, keepdims=True)
    share = counts / np.maximum(totals, 1)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    _class_xticks(ax, range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    size = 8 if n <= 12 else 6 if n <= 26 else 5
    for i, j in zip(*np.nonzero(counts)):
        ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=size,
                color="white" if share[i, j] > 0.55 else "black")
    bar = fig.colorbar(im, ax=ax, shrink=0.8)
    bar.set_label("share of the true class (row-normalised)")
    return fig


def wrong_examples_figure(images: np.ndarray, captions: Sequence[str], title: str, cols: int = 8) -> Figure:
    """The most confidently wrong predictions, one small titled image each."""
    n = max(1, len(images))
    rows = int(np.ceil(n / cols))
    fig = new_figure(1.25 * cols, 0.3 + 1.6 * rows)
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    for k, ax in enumerate(axes):
        ax.axis("off")
        if k < len(images):
            show_image(ax, images[k])
            ax.set_title(captions[k], fontsize=7)
    fig.suptitle(title)
    return fig


def per_class_figure(runs: Sequence[str], class_names: Sequence[str], f1: np.ndarray, title: str) -> Figure:
    """Heat map of per-class F1 (rows: runs, columns: classes)."""
    n_runs, n = f1.shape
    # cells wide and tall enough for a readable "0.93" (9 points at the report's resolution)
    fig = new_figure(max(6.0, 2.4 + 0.6 * n), 1.4 + 0.45 * n_runs)
    ax = fig.add_subplot()
    im = ax.imshow(f1, cmap="viridis", vmin=0, vmax=1, aspect="auto")
    _class_xticks(ax, range(n), class_names)
    ax.set_yticks(range(n_runs), runs)
    if f1.size <= 400:
        for i in range(n_runs):
            for j in range(n):
                ax.text(j, i, f"{f1[i, j]:.2f}", ha="center", va="center", fontsize=9,
                        color="black" if f1[i, j] > 0.6 else "white")
    ax.set_xlabel("class")
    ax.set_ylabel("run")
    ax.set_title(title)
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("OOF F1")
    return fig


# ---------------------------------------------------------------- blends, sweeps


def blend_figure(methods: Sequence[dict[str, Any]], inputs: Sequence[tuple[str, float]], chosen: str, title: str) -> Figure:
    """Weights per input run for each method beside each method's OOF accuracy (input runs for reference)."""
    fig = new_figure(11, 3.8)
    left, right = fig.subplots(1, 2)
    names = [name for name, _ in inputs]
    width = 0.8 / max(1, len(methods))
    x = np.arange(len(names))
    for k, row in enumerate(methods):
        weights = (row.get("details") or {}).get("weights") or {}
        left.bar(x + k * width - 0.4 + width / 2, [weights.get(n, 0.0) for n in names], width, label=row["method"])
    left.set_xticks(x, names, rotation=20, ha="right")
    left.set_xlabel("input run")
    left.set_ylabel("weight (share of the blend)")
    left.set_title("Weights per input run and method")
    left.legend()
    labels = [row["method"] + (" (chosen)" if row["method"] == chosen else "") for row in methods] + names
    scores = [row.get("accuracy_mean", row.get("oof_accuracy")) for row in methods] + [score for _, score in inputs]
    colours = ["#2ca02c" if row["method"] == chosen else "#1f77b4" for row in methods] + ["#7f7f7f"] * len(inputs)
    ypos = np.arange(len(labels))[::-1]
    right.barh(ypos, scores, color=colours)
    for y, s in zip(ypos, scores):
        right.text(s, y, f" {s:.4f}", va="center", fontsize=7)
    low, high = min(scores), max(scores)
    right.set_xlim(max(0.0, low - 0.3 * (high - low) - 0.01), min(1.0, high + 0.35 * (high - low) + 0.01))
    right.set_yticks(ypos, labels)
    right.set_xlabel("CV accuracy (mean over folds)")
    right.set_ylabel("blend method / input run")
    right.set_title("Each method's score (grey: the input runs)")
    fig.suptitle(title)
    return fig


def sweep_figure(values: Sequence[Any], acc_mean: np.ndarray, acc_std: np.ndarray, secs_mean: np.ndarray,
                 secs_std: np.ndarray, param: str, metric: str, replicates: int, title: str) -> Figure:
    """Mean ± std over replicates of the metric and of fit time against the swept value."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    fig = new_figure(10, 3.6)
    left, right = fig.subplots(1, 2)
    x = np.asarray(values, dtype=float) if numeric else np.arange(len(values))
    for ax, mean, std, label in ((left, acc_mean, acc_std, metric.replace("_", " ")),
                                 (right, secs_mean, secs_std, "fit time (seconds)")):
        ax.errorbar(x, mean, yerr=std, fmt="o-", capsize=4, linewidth=1.2)
        if numeric:
            positive = x[x > 0]
            if len(positive) == len(x) and len(x) > 2 and x.max() / x.min() >= 100:
                ax.set_xscale("log")
        else:
            ax.set_xticks(x, [str(v) for v in values], rotation=20 if max(len(str(v)) for v in values) > 6 else 0)
        ax.set_xlabel(param + ("" if numeric else " (categories)"))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    left.set_title(f"CV {metric.replace('_', ' ')} vs {param} (mean ± std, {replicates} replicates)")
    right.set_title(f"Fit time vs {param}")
    fig.suptitle(title)
    return fig
