"""Image CSVs: one row per image, pixel columns found by name, a label column and an ID column found by name.

Plain, ``.gz``, or a ``.zip`` holding one CSV. Pixel columns are recognised by name (``pixel0``..,
``pixel1``.., ``px_12``, ``p5`` or bare numbers) and put in numeric order whatever order the file
has them in; gaps and duplicates are refused, naming them. The label column (``label``,
``class``, ``target``... or declared) and the ID column (``id``, ``ImageId``... or declared) are
never taken as pixels. Labels are kept as the file spells them: whole numbers as integers, anything
else as text. Errors name the file, the line and the column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kaggletk.data._base import open_binary, read_text
from kaggletk.errors import KaggletkError

if TYPE_CHECKING:
    import pandas as pd

LABEL_COLUMNS = ("label", "labels", "class", "target", "y", "category")
ID_COLUMNS = ("id", "imageid", "image_id", "img_id", "imgid", "image", "filename", "file_name", "file")
_PIXEL = re.compile(r"^(?:pixels?|pix|px|p)?[ _-]?(\d+)$", re.IGNORECASE)
CHUNK_ROWS = 8192  # rows parsed at a time
_MANGLED = re.compile(r"^(.*)\.(\d+)$")  # pandas' name for a repeated header: pixel5.1


@dataclass
class CsvTable:
    """A parsed image CSV.

    Attributes
    ----------
    pixels : ndarray of shape (n, k), uint8, columns in numeric order of their names
    labels : ndarray of shape (n,), int64 or str, or None
    ids : ndarray of shape (n,), str as written in the file, or None
    label_column, id_column : str or None, the columns they came from
    first_pixel : int, the number in the first pixel column's name (0 or 1 usually)
    """

    pixels: np.ndarray
    labels: np.ndarray | None
    ids: np.ndarray | None
    label_column: str | None
    id_column: str | None
    first_pixel: int


def _header(path: Path) -> list[str]:
    return _sniff(path)[0]


def _sniff(path: Path) -> tuple[list[str], str]:
    """The header's column names and the file's delimiter (a comma, else a semicolon or a tab, as Excel writes them)."""
    text = read_text(path, first_line=True)
    lines = text.splitlines()  # a file with only \r line ends comes back whole: its first line is the header
    line = lines[0].strip() if lines else ""
    if not line:
        raise KaggletkError(f"{path}: empty file; it must have a header line and at least one row")
    sep = next((d for d in (",", ";", "\t") if d in line), ",")
    return [c.strip() for c in next(csv.reader([line], delimiter=sep))], sep


def _names(columns: list[str], n: int = 4) -> str:
    """The first columns, for a message (long names cut)."""
    shown = [c if len(c) <= 30 else c[:27] + "..." for c in columns[:n]]
    return ", ".join(shown) + (", ..." if len(columns) > n else "")


def find_column(columns: list[str], declared: str | None, usual: tuple[str, ...], path: Path, role: str) -> str | None:
    """The column playing ``role``: the declared name (which must exist) or the first usual one."""
    if declared is not None:
        if declared not in columns:
            raise KaggletkError(f"{path}: no {role} column {declared!r} (columns start {_names(columns, 5)}); "
                                f"fix {role}_column in competition.py")
        return declared
    lower = {c.lower(): c for c in columns}
    return next((lower[name] for name in usual if name in lower), None)


def pixel_order(columns: list[str], path: Path) -> tuple[list[str], int]:
    """The pixel columns sorted by their number, and the first number; gaps and repeats are refused."""
    numbered = []
    for column in columns:
        match = _PIXEL.match(column)
        if match is None:
            mangled = _MANGLED.match(column)
            if mangled and _PIXEL.match(mangled.group(1)):
                raise KaggletkError(f"{path}: column {mangled.group(1)!r} appears more than once; each pixel needs one column")
            raise KaggletkError(f"{path}: column {column[:40]!r} is neither a pixel (pixel0, pixel1, ...), the label nor an ID; "
                                "remove it, or declare label_column/id_column in competition.py")
        numbered.append((int(match.group(1)), column))
    if not numbered:
        raise KaggletkError(f"{path}: no pixel columns (pixel0, pixel1, ... or 0, 1, ...) in the header")
    numbered.sort()
    numbers = [n for n, _ in numbered]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        names = [c for n, c in numbered if n == repeated[0]]
        raise KaggletkError(f"{path}: pixel {repeated[0]} has several columns ({', '.join(names)}); keep one")
    first = numbers[0]
    for expected, (number, column) in enumerate(numbered, start=first):
        if number != expected:
            raise KaggletkError(f"{path}: pixel columns skip from {numbered[expected - first - 1][1]!r} to {column!r}; "
                                f"every pixel {first}..{first + len(numbered) - 1} needs a column")
    return [c for _, c in numbered], first


def read_csv(path: Path, require_label: bool, *, label_column: str | None = None, id_column: str | None = None) -> CsvTable:
    """Read and validate an image CSV (``.csv``, ``.csv.gz`` or a ``.zip`` holding one).

    Parameters
    ----------
    require_label : bool
        True for training files: a label column must be present.
    label_column, id_column : str, optional
        Declared names; by default the usual names (case-insensitive) are looked for.
    """
    import pandas as pd  # here, not at the top: loading a cached data set (every run) needs no pandas

    path = Path(path)
    columns, sep = _sniff(path)
    label_col = find_column(columns, label_column, LABEL_COLUMNS, path, "label")
    id_col = find_column(columns, id_column, ID_COLUMNS, path, "id")
    if require_label and label_col is None:
        raise KaggletkError(f"{path}: no label column (columns start {_names(columns)}); name it label, or declare "
                            "label_column in competition.py")
    pixel_cols, first = pixel_order([c for c in columns if c not in (label_col, id_col)], path)
    text = {c: str for c in (label_col, id_col) if c is not None}
    parts: list[np.ndarray] = []
    label_parts: list[pd.Series] = []
    id_parts: list[pd.Series] = []
    stream = open_binary(path)
    try:
        with stream:
            # In chunks: memory is the uint8 result plus one chunk, whatever the file's size.
            chunks = pd.read_csv(stream, engine="c", sep=sep, dtype=text, encoding="utf-8", keep_default_na=False,
                                 na_values={c: [""] for c in pixel_cols}, chunksize=CHUNK_ROWS)
            offset = 0
            for frame in chunks:
                frame.columns = [c.strip() for c in frame.columns]
                parts.append(_pixels(frame, pixel_cols, path, offset))
                if label_col:
                    label_parts.append(frame[label_col])
                if id_col:
                    id_parts.append(frame[id_col])
                offset += len(frame)
    except UnicodeDecodeError as exc:
        raise KaggletkError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8") from exc
    except pd.errors.EmptyDataError as exc:
        raise KaggletkError(f"{path}: empty file; it must have a header line and at least one row") from exc
    except (EOFError, OSError, zipfile.BadZipFile) as exc:
        raise KaggletkError(f"{path}: truncated or corrupt compressed file ({exc}); download it again") from exc
    except pd.errors.ParserError as exc:
        raise KaggletkError(f"{path}: malformed CSV ({str(exc).strip()}); every line must have the header's number of fields") from exc
    if not parts or sum(len(p) for p in parts) == 0:
        raise KaggletkError(f"{path}: no data rows; the file must hold at least one image")
    pixels = np.concatenate(parts)
    labels = label_values(pd.concat(label_parts, ignore_index=True), path, label_col) if label_col else None
    ids = _text(pd.concat(id_parts, ignore_index=True), path, id_col, "ID") if id_col else None
    return CsvTable(pixels, labels, ids, label_col, id_col, first)


def _pixels(frame: pd.DataFrame, pixel_cols: list[str], path: Path, offset: int) -> np.ndarray:
    """One chunk's pixels as uint8; the first bad cell is named by its line in the file."""
    values = _numeric(frame, pixel_cols, path, "pixel", offset)
    bad = (values < 0) | (values > 255) | (values != np.rint(values))
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise KaggletkError(f"{path}: line {offset + row + 2}, column {pixel_cols[col]!r}: pixel value "
                            f"{frame[pixel_cols[col]].iloc[row]} is not an integer 0-255")
    return values.astype(np.uint8)


def _text(column: pd.Series, path: Path, name: str, what: str) -> np.ndarray:
    values = column.fillna("").astype(str).str.strip().to_numpy()
    empty = values == ""
    if empty.any():
        row = int(np.argmax(empty))
        raise KaggletkError(f"{path}: line {row + 2}, column {name!r}: empty {what}; every row needs one")
    control = column.astype(str).str.contains(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", regex=True).to_numpy(dtype=bool)
    if control.any():
        row = int(np.argmax(control))
        raise KaggletkError(f"{path}: line {row + 2}, column {name!r}: the {what} holds control characters (NUL bytes?); "
                            "the file is damaged: download it again")
    return values.astype(str)


_INT = re.compile(r"^[+-]?\d+$")


def label_values(column: pd.Series, path: Path, name: str) -> np.ndarray:
    """Labels as the file spells them: int64 when every one is a whole number (``3``, ``-1``), else text."""
    values = _text(column, path, name, "label")
    if all(_INT.match(v) for v in values):
        try:
            return np.array([int(v) for v in values], dtype=np.int64)
        except OverflowError as exc:
            raise KaggletkError(f"{path}: column {name!r}: a label is too large for an integer; labels are class values") from exc
    numeric = [v for v in values if _is_number(v)]
    if numeric and len(numeric) == len(values):
        floats = np.array([float(v) for v in values])
        whole = np.isfinite(floats) & (floats == np.rint(floats)) & (np.abs(floats) < 2**53)
        if whole.all():  # 3.0, as a float column is written: the class 3
            return floats.astype(np.int64)
        row = int(np.argmin(whole))
        raise KaggletkError(f"{path}: line {row + 2}, column {name!r}: label {str(values[row])!r} is not a whole number; "
                            "labels are whole numbers or text")
    return values


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numeric(frame: pd.DataFrame, columns: list, path: Path, what: str, offset: int = 0) -> np.ndarray:
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
        shown = "empty/NaN" if pd.isna(cell) or cell == "" else repr(cell)
        raise KaggletkError(f"{path}: line {offset + row + 2}, column {columns[col]!r}: {what} value {shown} is not a number; "
                            "fix or drop that row")
    return values


def read_labels_csv(path: Path, *, label_column: str | None = None, id_column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """An ``id,label`` CSV (the labels of an image folder, or a solution file): (ids as text, label values)."""
    import pandas as pd

    path = Path(path)
    columns, sep = _sniff(path)
    id_col = find_column(columns, id_column, ID_COLUMNS, path, "id") or columns[0]
    label_col = find_column(columns, label_column, LABEL_COLUMNS, path, "label")
    if label_col is None:
        others = [c for c in columns if c != id_col]
        if len(others) != 1:
            raise KaggletkError(f"{path}: which column is the label? (columns: {_names(columns, 6)}); name it label")
        label_col = others[0]
    frame = pd.read_csv(io.StringIO(read_text(path)), sep=sep, dtype=str, keep_default_na=False)
    frame.columns = [c.strip() for c in frame.columns]
    return _text(frame[id_col], path, id_col, "ID"), label_values(frame[label_col], path, label_col)
