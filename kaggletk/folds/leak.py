"""Leak report: does the CV see the same kind of novelty as the test set?

Three nearest-neighbour similarity distributions, side by side: train->train (each training image
to its nearest other training image), held-out fold->training part (what CV measures), and
test->train (what the leaderboard measures). When held-out rows are much closer to their training
part than test rows are to the training set, the CV overstates accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import ks_2samp

from kaggletk._io import atomic_path, write_text
from kaggletk.folds._base import Folds
from kaggletk.folds.similarity import embed, nearest, nearest_in_other_folds

NEAR_COPY = 0.99
# Distributions closer than this (Kolmogorov-Smirnov statistic) count as the same novelty.
KS_OK = 0.1


@dataclass
class LeakReport:
    verdict: str  # "ok", "leak" or "pessimistic"
    text: str
    text_path: Path
    png_path: Path
    stats: dict


def _summary(values: np.ndarray) -> dict:
    p5, p50, p95 = np.percentile(values, [5, 50, 95])
    return {"p5": float(p5), "median": float(p50), "p95": float(p95), "near_copies": float((values >= NEAR_COPY).mean())}


def leak_report(dataset, folds: Folds, callbacks=()) -> LeakReport:
    """Compute the three distributions for ``folds`` of ``dataset``; save text and a PNG histogram."""
    from kaggletk.callbacks import CallbackList

    CallbackList(callbacks).on_note(f"leak report: nearest neighbours of {dataset.n_train} training and {dataset.n_test} "
                                    "test images")
    emb = embed(dataset.train_images)
    distributions = {
        "train -> train": nearest(emb, emb, k=1, exclude_self=True)[0][:, 0],
        "held-out fold -> training part": nearest_in_other_folds(emb, folds.assignment),
        "test -> train": nearest(embed(dataset.test_images), emb, k=1)[0][:, 0],
    }
    stats = {name: _summary(values) for name, values in distributions.items()}
    held, test = distributions["held-out fold -> training part"], distributions["test -> train"]
    ks = float(ks_2samp(held, test).statistic)
    h, t = stats["held-out fold -> training part"], stats["test -> train"]
    if ks <= KS_OK:
        verdict = "ok"
        sentence = "OK: held-out folds see the same kind of novelty as the test set; the CV can be trusted on this count."
    elif h["median"] > t["median"]:
        verdict = "leak"
        sentence = (f"LEAK: held-out rows are closer to their training part than test rows are to the training set "
                    f"({h['near_copies']:.1%} vs {t['near_copies']:.1%} have a near-copy >= {NEAR_COPY}); the CV will overstate "
                    f"accuracy. Use the group scheme: kaggletk folds {dataset.competition.name} --scheme group --check")
    else:
        verdict = "pessimistic"
        sentence = "PESSIMISTIC: held-out rows are more novel than test rows; the CV will understate accuracy."
    lines = [f"Leak report: {dataset.competition.name}, {dataset.variant} data, {folds.scheme} folds (K={folds.n_splits}, hash {folds.hash})",
             f"cosine similarity to the nearest neighbour (centred 14x14 images); near-copy = >= {NEAR_COPY}", "",
             f"{'distribution':34s} {'p5':>7s} {'median':>7s} {'p95':>7s} {'near-copies':>12s}"]
    for name, s in stats.items():
        lines.append(f"{name:34s} {s['p5']:7.3f} {s['median']:7.3f} {s['p95']:7.3f} {s['near_copies']:12.1%}")
    lines += ["", f"Kolmogorov-Smirnov distance, held-out vs test: {ks:.3f} (same novelty when <= {KS_OK})", sentence]
    text = "\n".join(lines)
    stem = Path(folds.path).with_suffix("") if folds.path else Path("leak")
    text_path = stem.with_name(f"leak-{stem.name}.txt")
    png_path = stem.with_name(f"leak-{stem.name}.png")
    write_text(text_path, text + "\n")
    _histogram(distributions, png_path, f"{dataset.competition.title}: {folds.scheme} folds ({verdict})")
    return LeakReport(verdict, text, text_path, png_path, {"ks": ks, **stats})


def _histogram(distributions: dict[str, np.ndarray], path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.5))
    hist_ax, cdf_ax = fig.subplots(1, 2)
    low = min(float(np.percentile(v, 0.5)) for v in distributions.values())
    bins = np.linspace(low, 1.0, 60)
    for name, values in distributions.items():
        hist_ax.hist(np.clip(values, low, 1.0), bins=bins, density=True, histtype="step", linewidth=1.8, label=name)
        ordered = np.sort(values)
        cdf_ax.plot(ordered, np.arange(1, len(ordered) + 1) / len(ordered), linewidth=1.8, label=name)
    hist_ax.set_yscale("log")  # near-copies pile up at 1.0 and would flatten the other curves
    hist_ax.set_xlabel("cosine similarity to the nearest neighbour")
    hist_ax.set_ylabel("density (log scale)")
    hist_ax.set_title("Nearest-neighbour similarity")
    hist_ax.legend(loc="upper left")
    cdf_ax.set_xlim(low, 1.0)
    cdf_ax.set_xlabel("cosine similarity to the nearest neighbour")
    cdf_ax.set_ylabel("share of rows at or below")
    cdf_ax.set_title("Cumulative distribution")
    fig.suptitle(title)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
