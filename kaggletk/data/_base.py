"""The raw data every reader returns, and the checks every reader applies at the boundary."""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk.errors import KaggletkError

# The most a member of a .zip may inflate to (its header says how much, before anything is read).
MAX_MEMBER_BYTES = 4 << 30

IMAGE_SIDE = 28
N_PIXELS = IMAGE_SIDE * IMAGE_SIDE


@dataclass
class RawData:
    """Arrays as read from a source, before they are cached.

    Attributes
    ----------
    train_images : ndarray of shape (n_train, 28, 28), uint8
    train_labels : ndarray of shape (n_train,), int64, the competition's own label values
    test_images : ndarray of shape (n_test, 28, 28), uint8
    test_ids : ndarray of shape (n_test,), int64; 0..n_test-1 unless the source gives IDs
    test_labels : ndarray of shape (n_test,), int64, or None; held out, for local scoring only
    files : list of str, the files read
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_ids: np.ndarray
    test_labels: np.ndarray | None
    files: list[str]


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading, decompressing ``.gz``; a ``.zip`` yields its one data member."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")  # type: ignore[return-value]
        if path.suffix == ".zip":
            return _open_zip_member(path)
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise KaggletkError(f"{path}: file not found") from exc


def _open_zip_member(path: Path) -> io.BufferedIOBase:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise KaggletkError(f"{path}: not a valid zip archive (truncated or corrupt); download it again") from exc
    members = [m for m in archive.infolist() if not m.is_dir() and not Path(m.filename).name.startswith(".")
               and "__MACOSX" not in m.filename]
    data_members = [m for m in members if m.filename.lower().endswith((".csv", ".csv.gz"))]
    if len(data_members) != 1:
        names = ", ".join(m.filename for m in members) or "(empty)"
        raise KaggletkError(f"{path}: expected exactly one CSV inside the zip, found: {names}; unpack it and point --from at the folder")
    member = data_members[0]
    if member.file_size > MAX_MEMBER_BYTES:
        raise KaggletkError(f"{path}: {member.filename} would inflate to {member.file_size / 2**30:.1f} GiB, more than the "
                            f"{MAX_MEMBER_BYTES >> 30} GiB kaggletk reads; unpack it yourself if it is really that big")
    try:
        raw = archive.read(member)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise KaggletkError(f"{path}: member {member.filename} is truncated or corrupt ({exc}); download it again") from exc
    if member.filename.lower().endswith(".gz"):
        raw = _gunzip(raw, path)
    return io.BytesIO(raw)


def _gunzip(raw: bytes, path: Path) -> bytes:
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError) as exc:
        raise KaggletkError(f"{path}: truncated or corrupt gzip data ({exc}); download it again") from exc


def as_images(array: np.ndarray, source: str, field: str) -> np.ndarray:
    """Validate pixel data and return it as uint8 of shape (n, 28, 28).

    Accepts (n, 784), (n, 28, 28) or (n, 28, 28, 1); integer values 0-255, or floats that are
    either whole numbers 0-255 or all within [0, 1] (already scaled).
    """
    array = np.asarray(array)
    n = array.shape[0] if array.ndim else 0
    if array.ndim == 0 or n == 0:
        raise KaggletkError(f"{source}: {field} is empty; the file must hold at least one image")
    if array.shape[1:] in ((N_PIXELS,), (IMAGE_SIDE, IMAGE_SIDE), (IMAGE_SIDE, IMAGE_SIDE, 1)):
        array = array.reshape(n, IMAGE_SIDE, IMAGE_SIDE)
    else:
        raise KaggletkError(
            f"{source}: {field} has shape {array.shape}; expected (n, 28, 28) or (n, 784) images of 28x28 pixels"
        )
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype.kind not in "iuf":
        raise KaggletkError(f"{source}: {field} has non-numeric dtype {array.dtype}; pixels must be numbers 0-255")
    if array.dtype.kind == "f":
        bad = ~np.isfinite(array)
        if bad.any():
            i = int(np.argwhere(bad)[0][0])
            raise KaggletkError(f"{source}: {field} image {i} has NaN or infinite pixels; pixels must be numbers 0-255")
        if array.max() <= 1.0 and array.min() >= 0.0:
            array = np.rint(array * 255.0)
        elif not np.array_equal(array, np.rint(array)):
            i = int(np.argwhere(array != np.rint(array))[0][0])
            raise KaggletkError(f"{source}: {field} image {i} has fractional pixel values; pixels must be whole numbers 0-255 (or all in [0, 1])")
    out_of_range = (array < 0) | (array > 255)
    if out_of_range.any():
        i = int(np.argwhere(out_of_range)[0][0])
        value = array.reshape(n, -1)[i][out_of_range.reshape(n, -1)[i]][0]
        raise KaggletkError(f"{source}: {field} image {i} has pixel value {value}; pixels must be 0-255")
    return np.ascontiguousarray(array.astype(np.uint8))


def as_labels(array: np.ndarray, source: str, field: str, allowed: tuple[int, ...], first_line: int | None = None) -> np.ndarray:
    """Validate labels against the competition's label set; return int64 values.

    ``first_line``: the file line of element 0 (2 for a CSV with a header), so errors cite lines.
    """

    def where(i: int) -> str:
        return f"line {i + first_line}" if first_line is not None else f"row {i}"

    array = np.asarray(array).reshape(-1)
    if array.size == 0:
        raise KaggletkError(f"{source}: {field} is empty")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.rint(array)):
            i = int(np.argwhere(~np.isfinite(array) | (array != np.rint(array)))[0][0])
            raise KaggletkError(f"{source}: {field} {where(i)} is {array[i]!r}; labels must be whole numbers")
    elif array.dtype.kind not in "iu":
        raise KaggletkError(f"{source}: {field} has non-numeric dtype {array.dtype}; labels must be integers")
    values = array.astype(np.int64)
    bad = ~np.isin(values, np.asarray(allowed))
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise KaggletkError(
            f"{source}: {where(i)}, {field}: label {values[i]} is not in the competition's label set "
            f"{_describe(allowed)}; fix the data or the competition's labels"
        )
    return values


def _describe(labels: tuple[int, ...]) -> str:
    return "{" + ", ".join(str(v) for v in labels) + "}"


def check_same_length(images: np.ndarray, labels: np.ndarray, source: str, what: str) -> None:
    if len(images) != len(labels):
        raise KaggletkError(f"{source}: {len(images)} {what} images but {len(labels)} labels; the files must match")


def check_ids(ids: np.ndarray, source: str) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise KaggletkError(f"{source}: test IDs must be integers, found dtype {ids.dtype}")
    import pandas as pd  # here, not at the top: loading a cached dataset must not pay for pandas

    duplicated = pd.Series(ids).duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise KaggletkError(f"{source}: duplicate test ID {ids[row]} (row {row}); IDs must be unique")
    return ids.astype(np.int64)
