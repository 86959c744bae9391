"""Submission files: ``submissions/<comp>/<name>.csv``, in the format the competition's own files decide.

With a sample submission (kept in the data cache), a submission has exactly its header, its ID
values as it writes them, its row order and its line endings; its target column holds the
predicted label as the training data spells it (Sign MNIST predicts 24 for Y, a text-labelled
competition "cat"), or, when the sample has one column per class, each class's probability.
Without one: ``<id_column>,<target_column>`` with the test IDs. Every file is validated before it
is written, and written atomically; ``validate_submission`` runs the same checks on any CSV and
names the first offending row, so Kaggle's own sample submission passes and a file whose IDs do
not match fails.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk._io import write_text
from kaggletk.data import Dataset, load_dataset
from kaggletk.data._sample import id_key
from kaggletk.errors import KaggletkError
from kaggletk.metrics import accuracy, macro_f1
from kaggletk.store import Run, load_run
from kaggletk.workspace import Workspace, check_name, workspace

_INT = re.compile(r"^[+-]?\d+$")


@dataclass(frozen=True)
class SubmissionFormat:
    """What a submission of a data set must look like: header, ID column and values, target columns, line ending."""

    header: str
    columns: tuple[str, ...]
    ids: np.ndarray  # (n_test,) str, as written
    newline: str
    per_class: bool  # one probability column per class instead of one label column
    from_sample: bool

    @property
    def id_column(self) -> str:
        return self.columns[0]


def submission_format(dataset: Dataset) -> SubmissionFormat:
    sample = dataset.sample_submission
    if sample is not None:
        if sample.per_class:
            _class_columns(sample.target_columns, dataset)  # every class has its column
        return SubmissionFormat(sample.header, sample.columns, sample.ids, sample.newline, sample.per_class, True)
    comp = dataset.competition
    columns = (comp.id_column, comp.target_column)
    return SubmissionFormat(",".join(columns), columns, np.asarray(dataset.test_ids).astype(str), "\n", False, False)


def _class_columns(columns: tuple[str, ...], dataset: Dataset) -> list[int]:
    """For a one-column-per-class sample: the class index of each target column (by label value or class name)."""
    comp = dataset.competition
    by_name = {str(v): i for i, v in enumerate(comp.labels)} | {n: i for i, n in enumerate(comp.names)}
    unknown = [c for c in columns if c not in by_name]
    if unknown or len(columns) != comp.n_classes:
        raise KaggletkError(f"the sample submission's columns {', '.join(columns)} are not the {comp.n_classes} classes "
                            f"({', '.join(map(str, comp.labels))}); check the competition's labels")
    return [by_name[c] for c in columns]


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(cells)
    return buffer.getvalue()


def submission_text(dataset: Dataset, test_proba: np.ndarray) -> str:
    """The submission file's text: the format's header and IDs, the predictions of ``test_proba`` (n_test, C)."""
    fmt = submission_format(dataset)
    proba = np.asarray(test_proba, dtype=np.float64)
    if proba.shape != (dataset.n_test, dataset.competition.n_classes):
        raise KaggletkError(f"predictions have shape {proba.shape}, expected ({dataset.n_test}, {dataset.competition.n_classes})")
    if fmt.per_class:
        order = _class_columns(fmt.columns[1:], dataset)
        rows = [[i, *(f"{p:.6g}" for p in row[order])] for i, row in zip(fmt.ids, proba)]
    else:
        labels = dataset.competition.to_label(proba.argmax(axis=1))
        rows = [[i, str(v)] for i, v in zip(fmt.ids, labels)]
    lines = [fmt.header] + [_csv_line(row) for row in rows]
    return fmt.newline.join(lines) + fmt.newline


def write_submission(dataset: Dataset, test_proba: np.ndarray, name: str, ws: Workspace | None = None) -> Path:
    """Validate and atomically write ``submissions/<comp>/<name>.csv``; returns its path."""
    ws = ws or workspace()
    path = ws.comp_submissions_dir(dataset.competition.name) / f"{check_name(name, 'submission name')}.csv"
    text = submission_text(dataset, test_proba)
    check_rows(_parse(text, path), dataset, str(path))
    write_text(path, text)
    return path


def predict_run(comp: str, run_name: str, name: str | None = None, ws: Workspace | None = None) -> Path:
    """Write the submission file of a complete run or blend."""
    run = load_run(comp, run_name, ws)
    dataset = dataset_of(run, ws)
    return write_submission(dataset, run.test(), name or run.name, ws)


def dataset_of(run: Run, ws: Workspace | None = None) -> Dataset:
    """The cached data a run was made on (refused when the cache has changed since)."""
    m = run.manifest
    dataset = load_dataset(m.competition, m.data, ws)
    if dataset.fingerprint != m.data_fingerprint:
        raise KaggletkError(f"run {run.name} was made on other data than the current {m.data} cache; rerun it")
    return dataset


@dataclass
class _Rows:
    columns: list[str]
    rows: list[list[str]]


def _parse(text: str, source: Path) -> _Rows:
    reader = list(csv.reader(io.StringIO(text)))
    if not reader or not any(cell.strip() for cell in reader[0]):
        raise KaggletkError(f"{source}: empty file; expected a header line and one row per test image")
    return _Rows([c.strip() for c in reader[0]], [[c.strip() for c in r] for r in reader[1:] if r])


def read_rows(path: Path) -> _Rows:
    """A submission CSV (plain, ``.gz`` or one CSV in a ``.zip``, as Kaggle accepts them) as text cells.

    Nothing is parsed as a number, so ``5.0`` and ``5`` stay what they are.
    """
    from kaggletk.data._base import read_text

    path = Path(path)
    if path.is_dir():
        raise KaggletkError(f"{path}: is a folder; pass the submission CSV file")
    try:
        text = read_text(path)
    except PermissionError as exc:
        raise KaggletkError(f"{path}: cannot read ({exc.strerror})") from exc
    if "\0" in text:
        raise KaggletkError(f"{path}: holds NUL bytes, not a CSV; write it again")
    return _parse(text, path)


def check_rows(table: _Rows, dataset: Dataset, source: str) -> None:
    """Validate a submission against the data set's format: columns, IDs (the test set's, each once, written as the
    sample submission writes them), the row count, predictions."""
    fmt = submission_format(dataset)
    expected = list(fmt.columns)
    sample_note = (" (the sample submission's header)" if fmt.from_sample else "")
    if table.columns != expected:
        raise KaggletkError(f"{source}: columns are {','.join(table.columns)}; expected exactly {','.join(expected)}{sample_note}")
    variant = "" if dataset.variant == "full" else f" of the {dataset.variant} data"
    count = f"{len(table.rows)} rows, expected {dataset.n_test} (one per test image{variant})"
    width = len(expected)
    short = next((i for i, r in enumerate(table.rows) if len(r) != width), None)
    if short is not None:
        raise KaggletkError(f"{source}: line {short + 2} has {len(table.rows[short])} fields, expected {width}")
    valid = {str(v).strip() for v in fmt.ids}
    spelled = {id_key(v): str(v).strip() for v in fmt.ids}
    seen: dict[str, int] = {}
    written_as = "the sample submission does" if fmt.from_sample else "integers"
    for i, row in enumerate(table.rows):
        value = row[0]
        if not value:
            raise KaggletkError(f"{source}: line {i + 2}, column {fmt.id_column}: empty ID")
        if value in seen:
            raise KaggletkError(f"{source}: {fmt.id_column} {value} is listed twice (lines {seen[value] + 2} and {i + 2}); "
                                f"each test ID needs one row ({count})")
        if value not in valid:
            near = spelled.get(id_key(value))
            if near is not None:
                raise KaggletkError(f"{source}: line {i + 2}: {fmt.id_column} {value} is written differently from the test ID "
                                    f"{near}; write the IDs exactly as {written_as}")
            first, last = fmt.ids[0], fmt.ids[-1]
            extra = f" ({count})" if len(table.rows) > dataset.n_test else ""
            raise KaggletkError(f"{source}: line {i + 2}: {fmt.id_column} {value} is not a test ID{extra} (the test IDs are "
                                f"{first}..{last}{sample_note.replace(' header', ' IDs')}); write the IDs as {written_as}")
        seen[value] = i
    if len(table.rows) != dataset.n_test:
        missing = next(str(v).strip() for v in fmt.ids if str(v).strip() not in seen)
        hint = ("; it was made on the bundled sample (use --data sample), or for another test set"
                if dataset.variant == "full" and len(table.rows) < dataset.n_test else "")
        raise KaggletkError(f"{source}: {count}: no row for {fmt.id_column} {missing}{hint}")
    if fmt.per_class:
        _check_probabilities(table, source, expected)
    else:
        _check_labels(table, dataset, source, expected[1])


def _check_labels(table: _Rows, dataset: Dataset, source: str, column: str) -> None:
    comp = dataset.competition
    allowed = {str(v) for v in comp.labels}
    for i, row in enumerate(table.rows):
        if row[1] not in allowed:
            shown = ", ".join(map(str, comp.labels[:30])) + (", ..." if comp.n_classes > 30 else "")
            raise KaggletkError(f"{source}: line {i + 2}, column {column}: {row[1]!r} is not a label of {comp.name} "
                                f"({shown}); write labels as the training data does")


def _check_probabilities(table: _Rows, source: str, columns: list[str]) -> None:
    for i, row in enumerate(table.rows):
        for column, cell in zip(columns[1:], row[1:]):
            try:
                value = float(cell)
            except ValueError:
                value = float("nan")
            if not 0.0 <= value <= 1.0:  # NaN fails too
                raise KaggletkError(f"{source}: line {i + 2}, column {column}: {cell!r} is not a probability in [0, 1]")


@dataclass(frozen=True)
class ReadSubmission:
    """A validated submission: its ID keys and class probabilities (one-hot for label files), in file order."""

    keys: np.ndarray
    proba: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)


def read_submission(path: Path, dataset: Dataset) -> ReadSubmission:
    """Read and validate a submission CSV made by hand or by kaggletk."""
    table = read_rows(path)
    check_rows(table, dataset, str(path))
    fmt = submission_format(dataset)
    keys = np.array([id_key(r[0]) for r in table.rows])
    comp = dataset.competition
    if fmt.per_class:
        order = _class_columns(fmt.columns[1:], dataset)
        proba = np.zeros((len(table.rows), comp.n_classes))
        proba[:, order] = np.array([[float(c) for c in r[1:]] for r in table.rows])
    else:
        proba = np.eye(comp.n_classes)[comp.to_index(np.array([r[1] for r in table.rows]))]
    return ReadSubmission(keys, proba)


@dataclass(frozen=True)
class SubmissionScore:
    accuracy: float
    macro_f1: float
    n: int
    scores: dict


def validate_submission(comp: str, path: Path, data: str = "auto", ws: Workspace | None = None) -> int:
    """Check a submission CSV against the competition's format; returns its number of rows."""
    dataset = load_dataset(comp, data, ws)
    return len(read_submission(path, dataset))


def no_holdout_message(dataset: Dataset) -> str:
    return f"{dataset.competition.name} ({dataset.variant} data) has no held-out labels: submit to score (`kaggletk submit`)"


def score_submission(comp: str, path: Path, data: str = "auto", ws: Workspace | None = None) -> SubmissionScore:
    """Every metric of a submission against the held-out test labels, joined on the ID as Kaggle joins it."""
    from kaggletk.metrics import score

    dataset = load_dataset(comp, data, ws)
    read = read_submission(path, dataset)
    keys, proba = read.keys, read.proba
    truth = dataset.holdout_labels()
    if truth is None:
        raise KaggletkError(no_holdout_message(dataset))
    by_id = {id_key(str(i)): label for i, label in zip(dataset.test_ids, truth)}
    c = dataset.competition
    y_true = c.to_index(np.array([by_id[k] for k in keys]))
    scores = score(y_true, proba)
    return SubmissionScore(accuracy(y_true, proba.argmax(axis=1)), macro_f1(y_true, proba.argmax(axis=1), c.n_classes),
                           len(keys), scores)
