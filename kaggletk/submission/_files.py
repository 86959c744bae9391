"""Submission files: ``submissions/<comp>/<name>.csv`` with the competition's columns.

``ID`` is the test ID (0..n_test-1 in test order for our competitions); ``Prediction`` is the
competition's own label value (Sign MNIST predicts 24 for Y, never an internal index). Every file
is validated before it is written, and written atomically; ``validate_submission`` runs the same
checks on any CSV and names the first offending row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kaggletk._io import atomic_path
from kaggletk.data import Dataset, load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.metrics import accuracy, macro_f1
from kaggletk.store import Run, load_run
from kaggletk.workspace import Workspace, check_name, workspace


def submission_frame(dataset: Dataset, test_proba: np.ndarray) -> pd.DataFrame:
    """ID and predicted label value for each test row, in test order."""
    comp = dataset.competition
    labels = comp.to_label(np.asarray(test_proba).argmax(axis=1))
    return pd.DataFrame({comp.id_column: dataset.test_ids, comp.target_column: labels})


def check_frame(frame: pd.DataFrame, dataset: Dataset, source: str) -> None:
    """Validate a submission: columns, row count, IDs unique and complete, labels in the label set, no NaN."""
    comp = dataset.competition
    expected = [comp.id_column, comp.target_column]
    if list(frame.columns) != expected:
        raise KaggletkError(f"{source}: columns are {','.join(map(str, frame.columns))}; expected exactly {','.join(expected)}")
    if len(frame) != dataset.n_test:
        raise KaggletkError(f"{source}: {len(frame)} rows, expected {dataset.n_test} (one per test image)")
    for column in expected:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = values.isna() | (values != np.floor(values))
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            raise KaggletkError(f"{source}: line {row + 2}, column {column}: {frame[column].iloc[row]!r} is not an integer")
    ids = frame[comp.id_column].astype(np.int64).to_numpy()
    duplicated = pd.Series(ids).duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise KaggletkError(f"{source}: line {row + 2}: duplicate {comp.id_column} {ids[row]}; IDs must be unique")
    unknown = ~np.isin(ids, dataset.test_ids)
    if unknown.any():
        row = int(np.argmax(unknown))
        raise KaggletkError(f"{source}: line {row + 2}: {comp.id_column} {ids[row]} is not a test ID (expected "
                            f"{dataset.test_ids.min()}..{dataset.test_ids.max()})")
    labels = frame[comp.target_column].astype(np.int64).to_numpy()
    outside = ~np.isin(labels, np.asarray(comp.labels))
    if outside.any():
        row = int(np.argmax(outside))
        raise KaggletkError(f"{source}: line {row + 2}: {comp.target_column} {labels[row]} is not a label of {comp.name} "
                            f"({', '.join(map(str, comp.labels))})")


def write_submission(dataset: Dataset, test_proba: np.ndarray, name: str, ws: Workspace | None = None) -> Path:
    """Validate and atomically write ``submissions/<comp>/<name>.csv``; returns its path."""
    ws = ws or workspace()
    frame = submission_frame(dataset, test_proba)
    path = ws.comp_submissions_dir(dataset.competition.name) / f"{check_name(name, 'submission name')}.csv"
    check_frame(frame, dataset, str(path))
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
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


def read_submission(path: Path, dataset: Dataset) -> pd.DataFrame:
    """Read and validate a submission CSV made by hand or by kaggletk."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError as exc:
        raise KaggletkError(f"{path}: file not found") from exc
    except pd.errors.EmptyDataError as exc:
        raise KaggletkError(f"{path}: empty file; expected a header line {dataset.competition.id_column},"
                            f"{dataset.competition.target_column} and one row per test image") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise KaggletkError(f"{path}: not a readable CSV ({str(exc).strip()})") from exc
    frame.columns = [c.strip() for c in frame.columns]
    frame = frame.apply(lambda col: col.str.strip())
    check_frame(frame.replace("", np.nan), dataset, str(path))
    return frame.astype(np.int64)


@dataclass(frozen=True)
class SubmissionScore:
    accuracy: float
    macro_f1: float
    n: int


def validate_submission(comp: str, path: Path, data: str = "auto", ws: Workspace | None = None) -> pd.DataFrame:
    return read_submission(path, load_dataset(comp, data, ws))


def score_submission(comp: str, path: Path, data: str = "auto", ws: Workspace | None = None) -> SubmissionScore:
    """Accuracy and macro-F1 of a submission against the held-out test labels (local scoring only)."""
    dataset = load_dataset(comp, data, ws)
    frame = read_submission(path, dataset)
    truth = dataset.holdout_labels()
    if truth is None:
        raise KaggletkError(f"{comp} ({dataset.variant} data) has no held-out test labels; score it on Kaggle with `kaggletk submit`")
    by_id = pd.Series(truth, index=dataset.test_ids)
    comp_ = dataset.competition
    y_true = comp_.to_index(by_id.loc[frame[comp_.id_column].to_numpy()].to_numpy())
    y_pred = comp_.to_index(frame[comp_.target_column].to_numpy())
    return SubmissionScore(accuracy(y_true, y_pred), macro_f1(y_true, y_pred, comp_.n_classes), len(frame))
