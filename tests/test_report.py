"""``kaggletk report`` on real runs of the samples: every section filled, every image a real PNG, labelled figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from kaggletk.blend import run_blend
from kaggletk.cv import CvRequest, run_cv
from kaggletk.data import load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.report import build_report, figures
from tests.conftest import run_cli
from tests.helpers import run_kaggletk

FASHION_RUNS = ["logreg-pca-sample", "lgbm-pca-sample", "mlp-pixels-sample"]
SECTIONS = ["leaderboard", "data", "curves", "runs", "blends", "sweeps", "tuning"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIGN_LETTERS = list("ABCDEFGHIKLMNOPQRSTUVWXY")  # A-Y without J


class ReportPage(HTMLParser):
    """What a reader sees: per top-level section its images, tables (as rows of cells) and notes."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, dict] = {}
        self.subsections: dict[str, str] = {}  # sub-section id -> top-level section id
        self.images: list[str] = []
        self.text: list[str] = []
        self._stack: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._note = False

    @property
    def _top(self) -> dict | None:
        return self.sections[self._stack[0]] if self._stack else None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            if not self._stack:
                self.sections[attrs["id"]] = {"images": [], "tables": [], "notes": [], "subsections": []}
            else:
                self._top["subsections"].append(attrs["id"])
                self.subsections[attrs["id"]] = self._stack[0]
            self._stack.append(attrs["id"])
        elif tag == "img":
            self.images.append(attrs["src"])
            if self._top is not None:
                self._top["images"].append(attrs["src"])
        elif tag == "table" and self._top is not None:
            self._top["tables"].append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "p" and attrs.get("class") == "note":
            self._note = True

    def handle_endtag(self, tag):
        if tag == "section":
            self._stack.pop()
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._top is not None:
            self._top["tables"][-1].append(self._row)
            self._row = None
        elif tag == "p":
            self._note = False

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._note and self._top is not None:
            self._top["notes"].append(data)


def parse(html_path: Path) -> ReportPage:
    page = ReportPage()
    page.feed(html_path.read_text(encoding="utf-8"))
    return page


def check_png(path: Path) -> np.ndarray:
    assert path.is_file(), f"{path} is referenced but missing"
    assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    image = matplotlib.image.imread(path)  # decodes the whole file
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    assert image.std() > 0.01, f"{path} is blank"
    return image


def write_sweeps(folder: Path) -> None:
    """Sweeps in the documented ``kaggletk sweep`` format: a numeric parameter, a categorical one, one made on
    the full data (left out of the sample report) and a broken file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    numeric = [{"value": c, "seed": s, "accuracy": 0.74 + 0.02 * np.log10(c) + rng.normal(0, 0.004), "macro_f1": 0.73,
                "fit_seconds": 1.0 + c} for c in (0.01, 0.1, 1.0) for s in range(3)]
    (folder / "logreg-pca-C-sample.json").write_text(json.dumps(
        {"model": "logreg", "view": "pca", "param": "C", "values": [0.01, 0.1, 1.0], "replicates": 3, "metric": "accuracy",
         "results": numeric, "data": "sample", "folds_used": 3}))
    views = [{"value": v, "seed": s, "accuracy": a + rng.normal(0, 0.01), "macro_f1": a - 0.01, "fit_seconds": 2.0}
             for v, a in (("pca", 0.80), ("hog", 0.84)) for s in range(2)]
    (folder / "lgbm-view.json").write_text(json.dumps(
        {"model": "lgbm", "view": "*", "param": "view", "values": ["pca", "hog"], "replicates": 2, "metric": "accuracy",
         "results": views}))
    (folder / "logreg-pca-C.json").write_text(json.dumps(
        {"model": "logreg", "view": "pca", "param": "C", "values": [1.0], "replicates": 1, "metric": "accuracy",
         "results": [{"value": 1.0, "seed": 0, "accuracy": 0.85, "macro_f1": 0.85, "fit_seconds": 60.0}], "data": "full"}))
    (folder / "broken.json").write_text('{"model": "x"}')


def write_studies(db: Path, fingerprint: str) -> None:
    """Real Optuna studies as ``kaggletk tune`` leaves them (minimise 1 − CV accuracy, accuracy and data recorded):
    one of a few trials, one with a single trial, one on other data, and another competition's study."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{db.resolve()}"

    def objective(trial):
        c = trial.suggest_float("C", 1e-3, 10.0, log=True)
        solver = trial.suggest_categorical("solver", ["lbfgs", "saga"])
        accuracy = 0.8 - 0.01 * (np.log10(c) + 1) ** 2 + (0.004 if solver == "lbfgs" else 0.0)
        trial.set_user_attr("accuracy", accuracy)
        return 1.0 - accuracy

    def study(name, data=fingerprint, **kwargs):
        made = optuna.create_study(study_name=name, storage=storage, direction="minimize", **kwargs)
        made.set_user_attr("data_fingerprint", data)
        return made

    study("fashion_mnist-logreg-pca-sample", sampler=optuna.samplers.RandomSampler(seed=0)).optimize(objective, n_trials=8)
    study("fashion_mnist-mlp-pixels-sample").optimize(lambda t: t.suggest_float("dropout", 0.0, 0.5), n_trials=1)
    study("fashion_mnist-logreg-pca", data="0123456789abcdef").optimize(objective, n_trials=2)
    study("sign_mnist-xgb-pca").optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)


@pytest.fixture(scope="module")
def report_project(tmp_path_factory):
    """Real runs on the Fashion-MNIST sample (3 folds to stay fast): logreg, lgbm, a 2-epoch mlp and their
    blend, two sweeps and Optuna studies; on the Sign MNIST sample one logreg run and one partial run."""
    from threadpoolctl import threadpool_limits

    from tests.conftest import make_project

    # One BLAS/OpenMP thread: on a busy 2-core machine OpenBLAS's spinning threads make the stacker 100x slower.
    with pytest.MonkeyPatch.context() as mp, threadpool_limits(limits=1):
        root = make_project(tmp_path_factory.mktemp("report"), mp)
        run_cv(CvRequest("fashion_mnist", "logreg", view="pca", data="sample", n_folds=3))
        run_cv(CvRequest("fashion_mnist", "lgbm", view="pca", data="sample", n_folds=3, params={"n_estimators": 25, "n_jobs": 1}))
        run_cv(CvRequest("fashion_mnist", "mlp", data="sample", n_folds=3, params={"epochs": 2}))
        run_blend("fashion_mnist", FASHION_RUNS, method="auto", data="sample")
        write_sweeps(root / "oof" / "fashion_mnist" / "sweeps")
        write_studies(root / "oof" / "fashion_mnist" / "optuna.db", load_dataset("fashion_mnist", "sample").fingerprint)
        run_cv(CvRequest("sign_mnist", "logreg", view="pca", data="sample", n_folds=3))
        run_cv(CvRequest("sign_mnist", "logreg", view="pca", data="sample", n_folds=3, name="half"), fold=0)
        yield root


@pytest.fixture(scope="module")
def fashion_report(report_project):
    """The Fashion-MNIST report, built once, with every saved Figure inspected before it is written."""
    seen = []
    original = figures.save_figure

    def spy(fig, path):
        seen.append({"name": path.name, "problems": figures.figure_problems(fig), "title": figures.figure_title(fig),
                     "axes": [(ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), [t.get_text() for t in ax.get_xticklabels()])
                              for ax in fig.axes]})
        return original(fig, path)

    rc_before = dict(matplotlib.rcParams)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KAGGLETK_HOME", str(report_project))
        mp.setattr(figures, "save_figure", spy)
        start = time.perf_counter()
        result = build_report("fashion_mnist")
        seconds = time.perf_counter() - start
    rc_after = dict(matplotlib.rcParams)
    return {"result": result, "page": parse(result.html), "figures": {s["name"]: s for s in seen}, "seconds": seconds,
            "rc_changed": {k for k in rc_before if rc_before[k] != rc_after[k]}}


def test_every_section_is_present_and_filled(fashion_report):
    page, result = fashion_report["page"], fashion_report["result"]
    assert result.html == fashion_report["result"].html.parent / "report.html"
    assert result.html.parent.parts[-3:] == ("oof", "fashion_mnist", "report")
    assert list(page.sections)[: len(SECTIONS)] == SECTIONS
    for name in SECTIONS:
        section = page.sections[name]
        assert section["images"], f"section {name} has no figure"
        assert not any("yet" in note for note in section["notes"]), f"section {name} says it is empty: {section['notes']}"
    assert all(page.sections[name]["tables"] for name in ("leaderboard", "runs", "blends", "sweeps", "tuning"))
    assert result.variant == "sample" and set(result.runs) == set(FASHION_RUNS) | {"blend-auto-sample"}


def test_every_referenced_image_exists_and_is_a_valid_png(fashion_report):
    page, result = fashion_report["page"], fashion_report["result"]
    assert page.images and len(page.images) == len(set(page.images))
    for src in page.images:
        assert not src.startswith(("/", "file:", "http")) and src.startswith("figures/"), src
        check_png(result.html.parent / src)
    assert {result.html.parent / src for src in page.images} == set(result.figures)
    assert sum(p.stat().st_size for p in result.figures) < 3_000_000


def test_every_figure_is_titled_and_every_axis_labelled(fashion_report):
    seen = fashion_report["figures"]
    assert len(seen) == len(fashion_report["result"].figures)
    for name, fig in seen.items():
        assert fig["problems"] == [], f"{name}: {fig['problems']}"
        assert fig["title"], f"{name} has no title"
    curves = seen["curves-mlp-pixels-sample.png"]["axes"]
    assert [a[0] for a in curves[:3]] == ["Loss (cross-entropy)", "Accuracy", "Learning rate"]
    assert all(a[1] == "epoch" for a in curves[:3])
    assert [a[1] for a in seen["curves-lgbm-pca-sample.png"]["axes"][:2]] == ["boosting round"] * 2
    cm = seen["cm-oof-logreg-pca-sample.png"]["axes"][0]
    assert cm[1:3] == ("predicted class", "true class") and cm[3][-1] == "Ankle boot" and cm[3][0] == "T-shirt/top"
    assert "test confusion" in seen["cm-test-logreg-pca-sample.png"]["title"]
    sweep = seen["sweep-lgbm-view.png"]["axes"][0]
    assert sweep[3] == ["pca", "hog"]  # a categorical x axis for non-numeric values
    history = seen["tuning-history-fashion_mnist-logreg-pca-sample.png"]
    assert "Optimisation history" in history["title"] and history["axes"][0][1:3] == ("trial number", "CV error (1 − accuracy)")
    assert seen["tuning-importances-fashion_mnist-logreg-pca-sample.png"]["axes"][0][1] == "Hyperparameter Importance"


def test_the_report_leaves_matplotlib_settings_alone_and_is_fast(fashion_report):
    assert fashion_report["rc_changed"] == set()  # Optuna's ggplot style stayed inside the report
    assert fashion_report["seconds"] < 120, f"report took {fashion_report['seconds']:.0f}s"


def test_leaderboard_lists_every_run_and_blend_with_scores(fashion_report):
    table = fashion_report["page"].sections["leaderboard"]["tables"][0]
    header, rows = table[0], table[1:]
    for column in ("CV accuracy", "CV macro-F1", "test accuracy", "test macro-F1", "1-model test accuracy", "CV − 1-model test", "fit s", "device",
                   "view", "folds done, scheme, hash"):
        assert column in header
    by_run = {row[0]: dict(zip(header, row)) for row in rows}
    assert set(by_run) == set(FASHION_RUNS) | {"blend-auto-sample"}
    logreg = by_run["logreg-pca-sample"]
    assert " ± " in logreg["CV accuracy"] and float(logreg["test accuracy"]) > 0.6
    # a model run's gap is like for like: its CV against its fold models' own test accuracy
    cv = float(logreg["CV accuracy"].split(" ± ")[0])
    assert float(logreg["CV − 1-model test"]) == pytest.approx(cv - float(logreg["1-model test accuracy"]), abs=2e-4)
    assert by_run["blend-auto-sample"]["1-model test accuracy"] == "-"
    assert logreg["folds done, scheme, hash"].startswith("3/3 stratified ") and logreg["device"] == "cpu"
    accuracies = [float(row[header.index("CV accuracy")].split(" ± ")[0]) for row in rows]
    assert accuracies == sorted(accuracies, reverse=True)


def test_each_run_has_confusion_matrices_pairs_per_class_scores_and_mistakes(fashion_report):
    page = fashion_report["page"]
    runs = page.sections["runs"]
    for run in FASHION_RUNS + ["blend-auto-sample"]:
        assert f"run-{run}" in runs["subsections"]
        for prefix in ("cm-oof", "cm-test", "wrong"):
            assert f"figures/{prefix}-{run}.png" in runs["images"]
    pairs = [t for t in runs["tables"] if t[0][:2] == ["true class", "predicted as"]]
    per_class = [t for t in runs["tables"] if t[0][:3] == ["class", "train images", "OOF accuracy"]]
    assert len(pairs) == len(per_class) == 4
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert [row[0] for row in per_class[0][1:]] == names
    assert "test F1" in per_class[0][0]
    assert all(row[0] in names and row[1] in names and row[0] != row[1] for row in pairs[0][1:])
    assert "figures/perclass-f1.png" in runs["images"]


def test_blend_section_shows_weights_per_run_and_each_method_score(fashion_report):
    blends = fashion_report["page"].sections["blends"]
    weights, scores = blends["tables"][:2]
    assert [row[0] for row in weights[1:]] == FASHION_RUNS
    assert {h.replace(" (chosen)", "") for h in weights[0][1:]} == {"mean", "rank", "hill", "stack"}
    assert sum(1 for h in weights[0] if "(chosen)" in h) == 1
    hill = weights[0].index(next(h for h in weights[0] if h.startswith("hill")))
    assert abs(sum(float(row[hill]) for row in weights[1:]) - 1) < 0.01
    assert {row[0].replace(" (chosen)", "") for row in scores[1:]} == {"mean", "rank", "hill", "stack"}
    assert all(0.5 < float(row[1]) <= 1 for row in scores[1:])


def test_sweeps_and_tuning_sections(fashion_report):
    page = fashion_report["page"]
    sweeps = page.sections["sweeps"]
    assert set(sweeps["subsections"]) == {"sweep-logreg-pca-C-sample", "sweep-lgbm-view"}
    assert any("broken.json: skipped (missing" in note for note in sweeps["notes"])
    assert any("sweep logreg-pca-C: made on the full data, left out" in note for note in sweeps["notes"])
    c_table = next(t for t in sweeps["tables"] if t[0][0] == "C")
    assert [row[0] for row in c_table[1:]] == ["0.01", "0.1", "1.0 (best)"] and c_table[1][1] == "3"
    tuning = page.sections["tuning"]
    assert set(tuning["subsections"]) == {"study-fashion_mnist-logreg-pca-sample", "study-fashion_mnist-mlp-pixels-sample"}
    summary = tuning["tables"][0]
    rows = {row[0]: dict(zip(summary[0], row)) for row in summary[1:]}
    best = rows["fashion_mnist-logreg-pca-sample"]
    assert best["completed"] == "8" and best["objective"] == "minimize CV error (1 − accuracy)"
    assert abs(float(best["best CV accuracy"]) + float(best["best value"]) - 1) < 1e-3 and "C=" in best["best parameters"]
    assert rows["fashion_mnist-mlp-pixels-sample"]["completed"] == "1"
    assert "figures/tuning-importances-fashion_mnist-logreg-pca-sample.png" in tuning["images"]
    assert "figures/tuning-history-fashion_mnist-mlp-pixels-sample.png" in tuning["images"]
    assert any("no parameter importances (1 completed trial(s)" in note for note in tuning["notes"])
    assert any("study fashion_mnist-logreg-pca: made on other data (0123456789abcdef), left out" in n for n in tuning["notes"])


def test_data_section_and_markdown_summary(fashion_report):
    page, result = fashion_report["page"], fashion_report["result"]
    data = page.sections["data"]
    assert data["images"] == ["figures/data-classes.png", "figures/data-samples.png"]
    text = " ".join(page.text)
    assert "3000 training and 1000 test images" in text and "Ankle boot" in text
    markdown = result.markdown.read_text(encoding="utf-8")
    assert markdown.startswith("# Fashion-MNIST (fashion_mnist): kaggletk report")
    for heading in ("## Leaderboard", "## Data", "## Training curves", "## Runs", "## Blends", "## Sweeps", "## Tuning"):
        assert heading in markdown
    assert "| logreg-pca-sample |" in markdown and "](figures/leaderboard.png)" in markdown
    for link in [line.split("](")[1].rstrip(")") for line in markdown.splitlines() if line.startswith("![")]:
        check_png(result.markdown.parent / link)


def test_sign_report_uses_letters_and_says_what_is_missing(report_project, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLETK_HOME", str(report_project))
    result = build_report("sign_mnist", out=tmp_path / "sign")
    page = parse(result.html)
    per_class = next(t for t in page.sections["runs"]["tables"] if t[0][0] == "class")
    assert [row[0] for row in per_class[1:]] == SIGN_LETTERS and "J" not in SIGN_LETTERS
    assert "run-half" not in page.sections["runs"]["subsections"]
    assert any("run half is partial (1/3 folds)" in n for n in result.notes)
    leaderboard = page.sections["leaderboard"]["tables"][0]
    assert any(row[0] == "half" and row[-1].endswith("(partial)") for row in leaderboard[1:])
    for name, words in (("curves", "no run has a training history yet"), ("blends", "no blends yet"),
                        ("sweeps", "no sweeps yet"), ("tuning", "no tuning studies yet")):
        assert len(page.sections[name]["notes"]) == 1 and words in page.sections[name]["notes"][0]
    for src in page.images:
        check_png(result.html.parent / src)


def test_cli_runs_restriction_out_folder_and_stale_figures(report_project, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLETK_HOME", str(report_project))
    out = tmp_path / "only-logreg"
    status, stdout, err = run_cli("report", "fashion_mnist", "--runs", "logreg-pca-sample", "--out", str(out))
    assert status == 0, err
    assert f"report: {out / 'report.html'}" in stdout and "summary:" in stdout
    page = parse(out / "report.html")
    assert [row[0] for row in page.sections["leaderboard"]["tables"][0][1:]] == ["logreg-pca-sample"]
    assert page.sections["runs"]["subsections"] == ["run-logreg-pca-sample"]
    (out / "figures" / "cm-oof-gone.png").write_bytes(PNG_SIGNATURE)
    (out / "figures" / "mine.png").write_bytes(PNG_SIGNATURE)
    status, _, err = run_cli("report", "fashion_mnist", "--runs", "logreg-pca-sample", "--out", str(out))
    assert status == 0, err
    assert not (out / "figures" / "cm-oof-gone.png").exists() and (out / "figures" / "mine.png").exists()
    status, _, err = run_cli("report", "fashion_mnist", "--runs", "nope")
    assert status == 2 and "no run 'nope'" in err and "logreg-pca-sample" in err
    status, _, err = run_cli("report", "fashion_mnist", "--data", "full")
    assert status == 2 and "no runs of fashion_mnist on the full data (runs exist on: sample); use --data sample" in err
    help_run = run_kaggletk("report", "--help", timeout=120)
    assert help_run.returncode == 0 and "kaggletk report fashion_mnist" in help_run.stdout and "--runs" in help_run.stdout


def test_no_runs_says_so_in_one_line(project):
    status, stdout, err = run_cli("report", "fashion_mnist")
    assert status == 0 and err == ""
    assert stdout.count("\n") == 1 and stdout.startswith("no runs for fashion_mnist yet;")
    assert not (project / "oof" / "fashion_mnist" / "report").exists()
    with pytest.raises(KaggletkError, match="no runs for fashion_mnist yet"):
        build_report("fashion_mnist")
    status, _, err = run_cli("report", "nosuch")
    assert status == 2 and "unknown competition 'nosuch'" in err


def test_an_unlabelled_figure_is_refused(tmp_path):
    fig = figures.new_figure(3, 3)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    assert figures.figure_problems(fig) == ["axes 0 has no title (and the figure no suptitle)",
                                            "axes 0 () has no x label", "axes 0 () has no y label"]
    with pytest.raises(ValueError, match="not fully labelled"):
        figures.save_figure(fig, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
    grid = figures.wrong_examples_figure(np.zeros((2, 28, 28), np.uint8), ["a", "b"], "titled grid", cols=2)
    assert figures.figure_problems(grid) == []  # image grids need titles, not axis labels


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (Debian: apt-get install chromium)")
def test_the_report_renders_in_headless_chromium(fashion_report, tmp_path):
    shot = tmp_path / "page.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
                    fashion_report["result"].html.as_uri()], capture_output=True, timeout=180, check=False)
    image = check_png(shot)
    assert image.shape[:2] == (2000, 1280)
    # the leaderboard figure sits near the top: the page's top part holds dark plot ink, not only text on white
    assert (image[:1500, :, :3].mean(axis=2) < 0.3).mean() > 0.001
