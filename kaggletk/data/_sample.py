"""Kaggle's sample submission: the header, the ID values and the row order a submission must have.

Nearly every Kaggle competition ships one (``sample_submission.csv``, ``sampleSubmission.csv``, or
inside the download's zip). Its first column is the ID; the others are either one label column
(``ImageId,Label``) or one probability column per class (``id,cat,dog``, for log-loss metrics).
kaggletk keeps the file in the data cache and writes every submission with exactly its header, its
ID values as it spells them, its row order and its line endings.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk.data._base import read_text
from kaggletk.errors import KaggletkError

PATTERNS = ("sample_submission*.csv", "samplesubmission*.csv", "sample-submission*.csv", "*sample*submission*.csv",
            "sample_submission*.csv.zip", "samplesubmission*.csv.zip", "sample_submission*.zip")


@dataclass(frozen=True)
class SampleSubmission:
    """A parsed sample submission.

    Attributes
    ----------
    header : str, the first line exactly as written (without its line ending)
    columns : tuple of str, the column names
    ids : ndarray of shape (n_test,), str, the ID cells exactly as written, in file order
    newline : str, the file's line ending ("\\n" or "\\r\\n")
    placeholder : ndarray of shape (n_test, n_targets), str, the file's own target cells
    """

    header: str
    columns: tuple[str, ...]
    ids: np.ndarray
    newline: str
    placeholder: np.ndarray

    @property
    def id_column(self) -> str:
        return self.columns[0]

    @property
    def target_columns(self) -> tuple[str, ...]:
        return self.columns[1:]

    @property
    def per_class(self) -> bool:
        """One probability column per class (rather than one label column)."""
        return len(self.columns) > 2


def read_sample_submission(path: Path) -> SampleSubmission:
    """Parse a sample submission CSV (plain, ``.gz`` or one CSV in a ``.zip``)."""
    path = Path(path)
    text = read_text(path)
    newline = "\r\n" if "\r\n" in text[: text.find("\n") + 1] else "\n"
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise KaggletkError(f"{path}: empty sample submission; download it again")
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    columns = tuple(c.strip() for c in rows[0])
    if len(columns) < 2:
        raise KaggletkError(f"{path}: a sample submission needs an ID column and at least one target column, "
                            f"found {', '.join(columns)}")
    body = [r for r in rows[1:] if r]
    if not body:
        raise KaggletkError(f"{path}: the sample submission has no rows; download it again")
    short = next((i for i, r in enumerate(body) if len(r) != len(columns)), None)
    if short is not None:
        raise KaggletkError(f"{path}: line {short + 2} has {len(body[short])} fields, the header {len(columns)}")
    ids = np.array([r[0] for r in body], dtype=str)
    seen, dup = set(), None
    for i, value in enumerate(ids):
        key = value.strip()
        if key in seen:
            dup = i
            break
        seen.add(key)
    if dup is not None:
        raise KaggletkError(f"{path}: line {dup + 2}: duplicate ID {ids[dup]!r} in the sample submission")
    return SampleSubmission(lines[0], columns, ids, newline, np.array([r[1:] for r in body], dtype=str))


def same_id(a: str, b: str) -> bool:
    """IDs are equal as text, or as integers (``7`` and ``007``)."""
    a, b = a.strip(), b.strip()
    return a == b or (a.lstrip("+-").isdigit() and b.lstrip("+-").isdigit() and int(a) == int(b))


def id_key(value: str) -> str:
    """A canonical form of an ID for matching (integers without leading zeros, text stripped)."""
    value = str(value).strip()
    body = value.lstrip("+-")
    if body.isdigit():
        return str(int(value))
    return value
