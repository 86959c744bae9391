"""The report: one HTML page (PNG figures beside it) and a Markdown summary of a competition's runs.

``build_report`` reads only what earlier steps left on disk (run manifests and predictions, training
histories, blends, sweeps, Optuna studies, the data cache) and writes ``<out>/report.html``,
``<out>/report.md`` and ``<out>/figures/*.png`` (default ``oof/<comp>/report/``). Sections:
leaderboard, data, training curves, runs (confusion matrices, per-class scores, confident mistakes),
blends, sweeps, tuning; a section with nothing to show says so in one line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from kaggletk import __version__
from kaggletk._io import write_text
from kaggletk.competition import load_competition
from kaggletk.data import Dataset
from kaggletk.data import load_sample, read_cache
from kaggletk.data.cache import cache_dir
from kaggletk.errors import KaggletkError
from kaggletk.report import sections
from kaggletk.report.figures import style
from kaggletk.report.html import render_html, render_markdown
from kaggletk.store import Run, list_runs, load_run
from kaggletk.workspace import workspace

HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"
FIGURE_DIR = "figures"
_FIGURE_PREFIXES = ("leaderboard", "data-", "curves-", "cm-", "wrong-", "perclass-", "blend-", "sweep-", "tuning-")


@dataclass
class ReportResult:
    """What ``build_report`` wrote."""

    html: Path
    markdown: Path
    figures: list[Path]
    variant: str
    runs: list[str]  # runs on the leaderboard, best first
    notes: list[str] = field(default_factory=list)  # what was left out and why
    seconds: float = 0.0


def build_report(comp: str, runs: list[str] | None = None, out: Path | str | None = None, data: str = "auto") -> ReportResult:
    """Write the report of competition ``comp``.

    Parameters
    ----------
    runs : list of str, optional
        Only these runs and blends (default: all of them on the chosen data).
    out : path, optional
        Output folder; default ``oof/<comp>/report/``.
    data : {"auto", "full", "sample"}
        Which data variant's runs to report. ``auto``: the full data when its cache exists and some
        run used it, else the sample.

    Returns
    -------
    ReportResult with the paths of the HTML page, the Markdown summary and the figures.

    Raises ``KaggletkError`` when there is no run to report (the CLI checks first and says so).
    """
    start = time.perf_counter()
    ws = workspace()
    competition = load_competition(comp, ws)
    if data not in ("auto", "full", "sample"):
        raise KaggletkError(f"--data {data!r}: use auto, full or sample")
    every_run = list_runs(comp, ws)
    selected = [load_run(comp, name, ws) for name in runs] if runs else every_run
    if not selected:
        raise KaggletkError(f"no runs for {comp} yet; start one with `kaggletk cv {comp} --model xgb`")
    variant = _variant(comp, data, selected, ws)
    chosen = [r for r in selected if r.manifest.data == variant]
    notes = []
    others = sorted({r.manifest.data for r in selected} - {variant})
    if not chosen:
        raise KaggletkError(f"no runs of {comp} on the {variant} data (runs exist on: {', '.join(others)}); "
                            f"use --data {others[0] if others else 'auto'}")
    if len(chosen) < len(selected):
        notes.append(f"left out {len(selected) - len(chosen)} run(s) on the {', '.join(others)} data; "
                     f"`--data {others[0]}` reports those")

    dataset = _dataset(competition, variant, ws)
    if dataset is not None:
        competition = dataset.competition  # with the label set read from the data
    if dataset is None:
        notes.append(f"no {variant} data cache for {comp}: the data and per-run sections need it "
                     f"(run `kaggletk fetch {comp}`)")
    from kaggletk.leaderboard import leaderboard_rows

    names = {r.name for r in chosen}
    rows = [row for row in leaderboard_rows(comp, data=variant) if row["run"] in names]
    by_name = {r.name: r for r in chosen}
    ordered = [by_name[row["run"]] for row in rows]
    usable = []
    for run in ordered:
        if not run.complete:
            notes.append(f"run {run.name} is partial ({len(run.done_folds())}/{run.n_folds} folds): leaderboard and curves only")
        elif dataset is None:
            continue
        elif run.manifest.data_fingerprint != dataset.fingerprint:
            notes.append(f"run {run.name} was made on other {variant} data than the current cache "
                         f"({run.manifest.data_fingerprint} vs {dataset.fingerprint}): skipped; rerun it")
        else:
            usable.append(run)

    out_dir = Path(out) if out is not None else ws.comp_oof_dir(comp) / "report"
    figure_dir = out_dir / FIGURE_DIR
    had_report = (out_dir / HTML_NAME).exists()
    ctx = sections.Context(competition, variant, dataset, ordered, usable, {r.name: r.manifest for r in every_run},
                           ws.comp_oof_dir(comp), figure_dir, ws.root, notes=notes)
    with style():
        parts = [sections.leaderboard(ctx, rows), sections.data(ctx), sections.curves(ctx), sections.runs(ctx),
                 sections.blends(ctx), sections.sweeps(ctx), sections.tuning(ctx)]
    extra = sections.notes_section(ctx.notes)
    if extra is not None:
        parts.append(extra)

    title = f"{competition.title} ({comp}): kaggletk report"
    meta = (f"{len(ordered)} run(s) on the {variant} data"
            + (f" ({dataset.n_train} train / {dataset.n_test} test images, fingerprint {dataset.fingerprint})" if dataset else "")
            + f"; generated {time.strftime('%Y-%m-%d %H:%M')} by kaggletk {__version__}")
    html_path, md_path = out_dir / HTML_NAME, out_dir / MARKDOWN_NAME
    write_text(html_path, render_html(title, meta, parts))
    write_text(md_path, render_markdown(title, meta, parts, HTML_NAME))
    if had_report:
        _remove_stale_figures(figure_dir, ctx.figures)
    return ReportResult(html_path, md_path, list(ctx.figures), variant, [r.name for r in ordered], ctx.notes,
                        time.perf_counter() - start)


def _variant(comp: str, data: str, runs: list[Run], ws) -> str:
    if data != "auto":
        return data
    used = {r.manifest.data for r in runs}
    full_cached = (cache_dir(comp, "full", ws) / "manifest.json").exists()
    if "full" in used and (full_cached or "sample" not in used):
        return "full"
    return "sample" if "sample" in used else "full"


def _dataset(competition, variant: str, ws) -> Dataset | None:
    if variant == "sample":
        return load_sample(competition, ws)
    return read_cache(competition, "full", ws)


def _remove_stale_figures(figure_dir: Path, keep: list[Path]) -> None:
    """Delete figures of an earlier report that this one no longer shows (only names the report makes)."""
    keep_names = {p.name for p in keep}
    for path in figure_dir.glob("*.png"):
        if path.name not in keep_names and path.name.startswith(_FIGURE_PREFIXES):
            path.unlink(missing_ok=True)


__all__ = ["ReportResult", "build_report"]
