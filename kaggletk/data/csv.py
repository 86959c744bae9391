"""CSV files with ``label,pixel1..pixel784`` (train) or ``[id,]pixel1..pixel784`` (test).

Plain, ``.gz``, or a ``.zip`` holding one CSV. Errors name the file, the line and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kaggletk.data._base import N_PIXELS, open_binary
from kaggletk.errors import KaggletkError

if TYPE_CHECKING:
    import pandas as pd

LABEL_COLUMNS = ("label", "labels", "class", "target")
ID_COLUMNS = ("id", "imageid", "image_id")


@dataclass
class CsvTable:
    """A parsed image CSV: pixels (n, 784) uint8, labels (n,) int64 or None, ids (n,) int64 or None."""

    pixels: np.ndarray
    labels: np.ndarray | None
    ids: np.ndarray | None


def read_csv(path: Path, require_label: bool) -> CsvTable:
    """Read and validate an image CSV.

    Parameters
    ----------
    path : Path
        ``.csv``, ``.csv.gz`` or ``.zip``.
    require_label : bool
        True for training files: a ``label`` column must be present.
    """
    import pandas as pd  # here, not at the top: loading a cached data set (every run) needs no pandas

    path = Path(path)
    stream = open_binary(path)
    try:
        with stream:
            frame = pd.read_csv(stream, engine="c", low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise KaggletkError(f"{path}: empty file; it must have a header line and at least one row") from exc
    except (EOFError, OSError) as exc:
        raise KaggletkError(f"{path}: truncated or corrupt compressed file ({exc}); download it again") from exc
    except pd.errors.ParserError as exc:
        raise KaggletkError(f"{path}: malformed CSV ({str(exc).strip()}); every line must have the header's number of fields") from exc
    if len(frame) == 0:
        raise KaggletkError(f"{path}: no data rows; the file must hold at least one image")

    lower = {c: c.strip().lower() for c in frame.columns}
    label_col = next((c for c in frame.columns if lower[c] in LABEL_COLUMNS), None)
    id_col = next((c for c in frame.columns if lower[c] in ID_COLUMNS), None)
    pixel_cols = [c for c in frame.columns if c not in (label_col, id_col)]
    if require_label and label_col is None:
        raise KaggletkError(f"{path}: no 'label' column (columns start {', '.join(map(str, frame.columns[:4]))}); a training CSV needs label,pixel1..pixel784")
    if len(pixel_cols) != N_PIXELS:
        extra = [c for c in pixel_cols if not str(c).lower().startswith("pixel")]
        hint = f"; unexpected columns: {', '.join(map(str, extra[:5]))}" if extra else ""
        raise KaggletkError(
            f"{path}: {len(pixel_cols)} pixel columns, expected {N_PIXELS} (28x28){hint}; "
            "the file needs label,pixel1..pixel784 (test: optional id, then pixel1..pixel784)"
        )

    pixels = _numeric(frame, pixel_cols, path, "pixel")
    bad = (pixels < 0) | (pixels > 255) | (pixels != np.rint(pixels))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise KaggletkError(
            f"{path}: line {row + 2}, column {pixel_cols[col]!r}: pixel value {frame[pixel_cols[col]].iloc[row]} is not an integer 0-255"
        )
    labels = _numeric(frame, [label_col], path, "label")[:, 0].astype(np.int64) if label_col else None
    ids = _numeric(frame, [id_col], path, "id")[:, 0].astype(np.int64) if id_col else None
    return CsvTable(pixels=pixels.astype(np.uint8), labels=labels, ids=ids)


def _numeric(frame: pd.DataFrame, columns: list, path: Path, what: str) -> np.ndarray:
    """Parse ``columns`` as numbers; name the first cell that is not a finite number."""
    import pandas as pd

    block = frame[columns]
    if all(dtype.kind in "iuf" for dtype in block.dtypes):
        values = block.to_numpy(dtype=np.float64)
    else:  # some column held text: coerce to find the offending cell
        values = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        cell = block.iloc[row, col]
        shown = "empty/NaN" if pd.isna(cell) else repr(cell)
        raise KaggletkError(f"{path}: line {row + 2}, column {columns[col]!r}: {what} value {shown} is not a number; fix or drop that row")
    if what != "pixel" and not np.array_equal(values, np.rint(values)):
        row = int(np.argwhere(values != np.rint(values))[0][0])
        raise KaggletkError(f"{path}: line {row + 2}, column {columns[0]!r}: {what} {block.iloc[row, 0]!r} is not a whole number")
    return values
