"""One function per report section; each returns a ``Section`` that is never empty (a note at least)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk.competition import Competition
from kaggletk.data import Dataset
from kaggletk.errors import KaggletkError
from kaggletk.metrics import get_metric
from kaggletk.report import figures, tables
from kaggletk.report._blocks import Image, Section, Table, Text
from kaggletk.report.sweeps import read_sweeps
from kaggletk.store import Run, RunManifest

SAMPLES_PER_CLASS = 10
WRONG_EXAMPLES = 16
CONFUSED_PAIRS = 8


@dataclass
class Context:
    """What every section needs: the competition, the data variant, the runs, where figures go."""

    competition: Competition
    variant: str
    dataset: Dataset | None
    runs: list[Run]  # the runs on ``variant`` (in leaderboard order), complete or not
    usable: list[Run]  # complete runs whose data fingerprint matches ``dataset``
    all_manifests: dict[str, RunManifest]  # every run of the competition, for blend inputs
    oof_dir: Path
    figure_dir: Path
    root: Path  # the project folder, to show paths relative to it
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def save(self, fig, name: str) -> Image:
        title = figures.figure_title(fig)
        path = figures.save_figure(fig, self.figure_dir / f"{slug(name)}.png")
        self.figures.append(path)
        return Image(f"{self.figure_dir.name}/{path.name}", title)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "x"


def _run_line(m: RunManifest) -> str:
    cv, test = m.cv, m.test
    what = (f"blend ({m.blend.method}) of {', '.join(m.blend.runs)}" if m.blend is not None
            else f"{m.model} on {m.view}, device {m.device or '-'}")
    line = f"{what}; {m.n_folds} {m.fold_scheme} folds ({m.fold_hash})"
    if cv is not None:
        line += (f"; CV accuracy {cv.mean.get('accuracy', 0):.4f} ± {cv.std.get('accuracy', 0):.4f}, "
                 f"macro-F1 {cv.mean.get('macro_f1', 0):.4f}; OOF accuracy {cv.oof.get('accuracy', 0):.4f}")
    if test is not None:
        line += f"; test accuracy {test.scores['accuracy']:.4f}, macro-F1 {test.scores['macro_f1']:.4f}"
    if cv is not None:
        line += f"; fit {cv.fit_seconds:.1f} s"
    return line


# ---------------------------------------------------------------- leaderboard


def leaderboard(ctx: Context, rows: list[dict[str, Any]]) -> Section:
    section = Section("leaderboard", "Leaderboard")
    manifests = {r.name: r.manifest for r in ctx.runs}
    section.add(tables.leaderboard_table(rows, manifests))
    scored = [r for r in rows if r["cv"] is not None]
    label = get_metric(ctx.competition.metric).label
    if scored:
        fig = figures.leaderboard_figure(
            [r["run"] for r in scored], [r["cv"] for r in scored], [r["cv_std"] or 0.0 for r in scored],
            [r["test"] for r in scored], [r["seconds"] for r in scored],
            f"{ctx.competition.title}: CV {label} and training time per run ({ctx.variant} data)", label)
        section.add(ctx.save(fig, "leaderboard"))
    return section


# ---------------------------------------------------------------- data


def data(ctx: Context) -> Section:
    section = Section("data", "Data")
    d, comp = ctx.dataset, ctx.competition
    if d is None:
        return section.add(Text(f"no {ctx.variant} data cache for {comp.name}: run `kaggletk fetch {comp.name}` to see the data "
                                "and the per-run sections", note=True))
    holdout = d.holdout_labels()
    train_counts = np.bincount(d.y, minlength=comp.n_classes)
    test_counts = np.bincount(comp.to_index(holdout), minlength=comp.n_classes) if holdout is not None else None
    source = Path(d.source)
    if source.is_absolute() and source.is_relative_to(ctx.root):
        source = source.relative_to(ctx.root)
    section.add(Text(f"{comp.title}, {d.variant} data from {source}: {d.n_train} training and {d.n_test} test images "
                     f"of {d.image_shape[0]}×{d.image_shape[1]} pixels{' (RGB)' if d.image_shape[2] == 3 else ''}, "
                     f"{comp.n_classes} classes ({', '.join(comp.names)}); fingerprint {d.fingerprint}"
                     + ("; held-out test labels present (used for scoring only)" if holdout is not None
                        else "; no held-out labels: submit to score")))
    section.add(ctx.save(figures.class_distribution_figure(
        comp.names, train_counts, test_counts,
        f"Class distribution ({d.variant} data: {d.n_train} train, {d.n_test} test)"), "data-classes"))
    rng = np.random.default_rng(0)
    per_class = []
    for c in range(comp.n_classes):
        rows = np.flatnonzero(d.y == c)
        pick = np.sort(rng.choice(rows, size=min(SAMPLES_PER_CLASS, len(rows)), replace=False)) if len(rows) else rows
        per_class.append(d.train_images[pick])
    section.add(ctx.save(figures.sample_grid_figure(
        comp.names, per_class, f"{SAMPLES_PER_CLASS} random training images per class"), "data-samples"))
    return section


# ---------------------------------------------------------------- training curves


def curves(ctx: Context) -> Section:
    section = Section("curves", "Training curves")
    found = []
    for run in ctx.runs:
        if run.manifest.kind != "model":
            continue
        histories = {f: h for f in run.done_folds()[: figures.MAX_CURVE_FOLDS] if (h := run.history(f))}
        if histories:
            found.append((run.manifest.step_unit, run, histories))
    if not found:
        return section.add(Text("no run has a training history yet (Keras runs record one per epoch, XGBoost and "
                                "LightGBM one per boosting round)", note=True))
    section.add(Text("Per fold (one colour each): training solid, validation dashed. Validation is the rows early stopping "
                     "watched: a tenth of the training part, never the held-out fold. Keras runs first (loss, accuracy, "
                     "learning rate per epoch), then boosting runs (validation metrics per round)."))
    for unit, run, histories in sorted(found, key=lambda item: item[0]):
        m = run.manifest
        step = {"round": "boosting round", "fit": "fit"}.get(unit, unit)
        fig = figures.curves_figure(histories, step, f"{run.name}: {m.model} on {m.view}, "
                                                     f"training history per fold ({len(histories)} folds)")
        sub = Section(f"curves-{slug(run.name)}", run.name).add(ctx.save(fig, f"curves-{run.name}"))
        section.subsections.append(sub)
    return section


# ---------------------------------------------------------------- per run


def runs(ctx: Context) -> Section:
    section = Section("runs", "Runs: confusion matrices, per-class scores, confident mistakes")
    comp, d = ctx.competition, ctx.dataset
    if not ctx.usable:
        return section.add(Text("no complete run on this data to examine"
                                + ("" if d is not None else f" (the {ctx.variant} data is not cached)"), note=True))
    holdout = d.holdout_labels()
    y_test = comp.to_index(holdout) if holdout is not None else None
    names = list(comp.names)
    f1_rows = []
    subsections = []
    for run in ctx.usable:
        oof = run.oof()
        pred = oof.argmax(axis=1)
        counts = tables.confusion_counts(d.y, pred, comp.n_classes)
        oof_scores = tables.per_class_scores(d.y, pred, comp.n_classes)
        f1_rows.append(oof_scores["f1"])
        acc = float((pred == d.y).mean())
        sub = Section(f"run-{slug(run.name)}", run.name).add(Text(_run_line(run.manifest)))
        sub.add(ctx.save(figures.confusion_figure(
            counts, names, f"{run.name}: OOF confusion (train, {d.n_train} images, accuracy {acc:.4f})"), f"cm-oof-{run.name}"))
        test_scores = None
        if y_test is not None:
            test_pred = run.test().argmax(axis=1)
            test_counts = tables.confusion_counts(y_test, test_pred, comp.n_classes)
            test_scores = tables.per_class_scores(y_test, test_pred, comp.n_classes)
            sub.add(ctx.save(figures.confusion_figure(
                test_counts, names, f"{run.name}: test confusion (held-out labels, {len(y_test)} images, "
                                    f"accuracy {float((test_pred == y_test).mean()):.4f})"), f"cm-test-{run.name}"))
        pairs = tables.confused_pairs(counts, CONFUSED_PAIRS)
        if pairs:
            sub.add(tables.pairs_table(pairs, names, f"most confused pairs (OOF, {run.name})"))
        else:
            sub.add(Text("no OOF mistakes", note=True))
        sub.add(tables.per_class_table(names, oof_scores, test_scores))
        wrong = tables.confident_mistakes(oof, d.y, WRONG_EXAMPLES, d.train_images)
        if len(wrong):
            captions = [f"true: {names[d.y[i]]}\npred: {names[pred[i]]} ({oof[i, pred[i]]:.2f})" for i in wrong]
            sub.add(ctx.save(figures.wrong_examples_figure(
                d.train_images[wrong], captions, f"{run.name}: the {len(wrong)} most confidently wrong OOF predictions, one per "
                                                 "group of near-copies (true class, predicted class and its probability)"),
                f"wrong-{run.name}"))
        subsections.append(sub)
    section.add(ctx.save(figures.per_class_figure([r.name for r in ctx.usable], names, np.array(f1_rows),
                                                  "Per-class OOF F1 by run"), "perclass-f1"))
    section.subsections = subsections
    return section


# ---------------------------------------------------------------- blends


def blends(ctx: Context) -> Section:
    section = Section("blends", "Blends")
    found = [r for r in ctx.runs if r.manifest.blend is not None and r.complete]
    if not found:
        return section.add(Text("no blends yet; make one with `kaggletk blend " + ctx.competition.name + "`", note=True))
    for run in found:
        m = run.manifest
        sub = Section(f"blend-{slug(run.name)}", run.name).add(Text(_run_line(m)))
        sub.add(*tables.blend_tables(m))
        methods = m.blend.methods
        inputs = [(name, ctx.all_manifests[name].cv.mean["accuracy"]) for name in m.blend.runs
                  if name in ctx.all_manifests and ctx.all_manifests[name].cv is not None]
        if methods:
            sub.add(ctx.save(figures.blend_figure(methods, inputs, m.blend.method,
                                                  f"{run.name}: blend weights and method scores (OOF, same folds)"),
                             f"blend-{run.name}"))
        section.subsections.append(sub)
    return section


# ---------------------------------------------------------------- sweeps and tuning


def sweeps(ctx: Context) -> Section:
    section = Section("sweeps", "Sweeps")
    found, notes = read_sweeps(ctx.oof_dir / "sweeps")
    for note in notes:
        section.add(Text(note, note=True))
    if not any(sweep.data in (None, ctx.variant) for sweep in found):
        return section.add(Text(f"no sweeps{'' if not found else f' on the {ctx.variant} data'} yet "
                                f"(`kaggletk sweep {ctx.competition.name} ...` writes them to oof/{ctx.competition.name}/sweeps/)",
                                note=True))
    for sweep in found:
        if sweep.data not in (None, ctx.variant):
            section.add(Text(f"sweep {sweep.name}: made on the {sweep.data} data, left out", note=True))
            continue
        stats = tables.sweep_stats(sweep.results, sweep.values, sweep.metric)
        sub = Section(f"sweep-{slug(sweep.name)}", sweep.name)
        folds = f", {sweep.folds_used} fold(s) per evaluation" if sweep.folds_used else ""
        sub.add(Text(f"{sweep.model} on {sweep.view}: {sweep.param} over {', '.join(map(str, sweep.values))}, "
                     f"{sweep.replicates} replicate(s) each (seeds){folds}; error bars: ± one standard deviation over replicates"))
        sub.add(ctx.save(figures.sweep_figure(
            sweep.values, stats["mean"], stats["std"], stats["secs_mean"], stats["secs_std"], sweep.param, sweep.metric,
            sweep.replicates, f"Sweep {sweep.name}: {sweep.model} on {sweep.view}, {sweep.param}"), f"sweep-{sweep.name}"))
        sub.add(tables.sweep_table(sweep.param, sweep.values, stats, sweep.metric))
        section.subsections.append(sub)
    return section


def tuning(ctx: Context) -> Section:
    from kaggletk.report.tuning import open_studies, study_figures

    section = Section("tuning", "Tuning (Optuna)")
    db = ctx.oof_dir / "optuna.db"
    empty = f"no tuning studies yet (`kaggletk tune {ctx.competition.name} ...` writes them to oof/{ctx.competition.name}/optuna.db)"
    try:
        fingerprint = ctx.dataset.fingerprint if ctx.dataset is not None else None
        with open_studies(db, ctx.competition.name, fingerprint) as (studies, notes):
            for note in notes:
                section.add(Text(note, note=True))
            if not studies:
                return section.add(Text(empty, note=True))
            section.add(Table(["study", "objective", "completed", "pruned", "failed", "best value", "best CV accuracy",
                               "best parameters"],
                              [[s.name, f"{s.direction} {s.target}", str(s.n_complete), str(s.n_pruned), str(s.n_failed),
                                tables.fmt(s.best_value), tables.fmt(s.best_accuracy),
                                ", ".join(f"{k}={_short(v)}" for k, v in s.best_params.items()) or "-"]
                               for s in studies]))
            for summary in studies:
                sub = Section(f"study-{slug(summary.name)}", summary.name)
                for kind, item in study_figures(summary):
                    sub.add(Text(item, note=True) if kind == "note" else ctx.save(item, f"tuning-{kind}-{summary.name}"))
                section.subsections.append(sub)
    except KaggletkError as exc:
        section.add(Text(str(exc), note=True))
    return section


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def notes_section(notes: list[str]) -> Section | None:
    if not notes:
        return None
    return Section("notes", "Notes").add(*[Text(n, note=True) for n in notes])
