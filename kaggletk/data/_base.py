"""The raw data every reader returns, and the checks every reader applies at the boundary."""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk.errors import KaggletkError

# The most a compressed file (.gz, or a member of a .zip) may inflate to: a .zip's header says how much before
# anything is read; a .gz is counted as it streams.
MAX_MEMBER_BYTES = 4 << 30
# The longest first line a CSV may have (a header of 64x64 RGB pixel names is ~150 KB).
MAX_HEADER_BYTES = 16 << 20

@dataclass
class RawData:
    """Arrays as read from a source, before they are cached.

    Attributes
    ----------
    train_images : ndarray of shape (n_train, h, w) for grayscale or (n_train, h, w, c) for colour, uint8
    train_labels : ndarray of shape (n_train,), the competition's own label values (int64, or str when text)
    test_images : ndarray of shape (n_test, h, w[, c]), uint8, in the order a submission lists them
    test_ids : ndarray of shape (n_test,), int64 or str; the sample submission's IDs when there is one
    test_labels : ndarray of shape (n_test,), label values, or None; held out, for local scoring only
    files : list of str, the files read
    sample_submission : Path or None, the competition's sample submission (kept in the cache)
    layout : str, "bundle", "idx", "folders" or "csv"
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_ids: np.ndarray
    test_labels: np.ndarray | None
    files: list[str]
    sample_submission: Path | None = None
    layout: str = ""


def open_binary(path: Path) -> io.BufferedIOBase:
    """Open ``path`` for reading, decompressing ``.gz``; a ``.zip`` yields its one data member."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            return _bounded(gzip.open(path, "rb"), path)
        if path.suffix == ".zip":
            return _open_zip_member(path)
        return open(path, "rb")
    except FileNotFoundError as exc:
        raise KaggletkError(f"{path}: file not found") from exc
    except IsADirectoryError as exc:
        raise KaggletkError(f"{path}: is a folder, not a file; point at the file inside it") from exc


class _Inflated(io.RawIOBase):
    """A decompressing stream that refuses to inflate past ``MAX_MEMBER_BYTES`` (a .gz bomb stops there)."""

    def __init__(self, stream, path: Path, limit: int):
        self._stream, self._path, self._limit, self._count = stream, path, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._stream.readinto(buffer)
        self._count += n or 0
        if self._count > self._limit:
            raise KaggletkError(f"{self._path}: inflates to more than {self._limit / 2**30:g} GiB, more than kaggletk reads; "
                                "unpack it yourself if it is really that big")
        return n

    def close(self) -> None:
        self._stream.close()
        super().close()


def _bounded(stream, path: Path) -> io.BufferedReader:
    return io.BufferedReader(_Inflated(stream, path, MAX_MEMBER_BYTES), buffer_size=1 << 20)


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
        raise KaggletkError(f"{path}: {member.filename} would inflate to {member.file_size / 2**30:.2f} GiB, more than the "
                            f"{MAX_MEMBER_BYTES / 2**30:g} GiB kaggletk reads; unpack it yourself if it is really that big")
    try:
        stream = archive.open(member)  # streamed: a member is never held whole in memory
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise KaggletkError(f"{path}: member {member.filename} cannot be read ({exc}); download it again") from exc
    if member.filename.lower().endswith(".gz"):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    return _bounded(stream, path)


def read_text(path: Path, first_line: bool = False) -> str:
    """The UTF-8 text of ``path`` (decompressed; a BOM dropped), or only its first line; errors name the file."""
    stream = open_binary(path)
    try:
        with stream:
            raw = stream.readline(MAX_HEADER_BYTES + 1) if first_line else stream.read()
    except (EOFError, OSError, zipfile.BadZipFile, gzip.BadGzipFile) as exc:
        raise KaggletkError(f"{path}: truncated or corrupt compressed file ({exc}); download it again") from exc
    if first_line and len(raw) > MAX_HEADER_BYTES:
        raise KaggletkError(f"{path}: the first line is longer than {MAX_HEADER_BYTES >> 20} MB; a CSV's header names its "
                            "columns (is this a CSV?)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KaggletkError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}); save the file "
                            "as UTF-8") from exc


def image_shape_of(n_values: int, declared: tuple[int, ...] | None, source: str, field: str) -> tuple[int, int, int]:
    """(height, width, channels) of flat rows of ``n_values`` pixels: declared, else a square grayscale or RGB image."""
    if declared is not None:
        h, w, c = (*declared, 1)[:3] if len(declared) == 2 else declared
        if h * w * c != n_values:
            raise KaggletkError(f"{source}: {field} has {n_values} values per image, but image_shape {tuple(declared)} "
                                f"needs {h * w * c}; fix image_shape in competition.py")
        return h, w, c
    for channels in (1, 3):
        side = int(round((n_values / channels) ** 0.5))
        if side * side * channels == n_values:
            return side, side, channels
    raise KaggletkError(f"{source}: {field} has {n_values} values per image, which is not a square grayscale or RGB "
                        "image; declare image_shape=(height, width[, channels]) in competition.py")


def as_images(array: np.ndarray, source: str, field: str, image_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Validate pixel data and return it as uint8 of shape (n, h, w) (grayscale) or (n, h, w, c) (colour).

    Accepts flat rows (n, h*w*c) in row-major (height, width, channel) order, or (n, h, w[, c]);
    integer values 0-255, or floats that are either whole numbers 0-255 or all within [0, 1].
    """
    array = np.asarray(array)
    n = array.shape[0] if array.ndim else 0
    if array.ndim == 0 or n == 0:
        raise KaggletkError(f"{source}: {field} is empty; the file must hold at least one image")
    if array.ndim == 2:
        h, w, c = image_shape_of(array.shape[1], image_shape, source, field)
        array = array.reshape(n, h, w, c)
    elif array.ndim == 3:
        array = array[..., None]
    elif array.ndim != 4:
        raise KaggletkError(f"{source}: {field} has shape {array.shape}; expected (n, pixels), (n, height, width) or "
                            "(n, height, width, channels)")
    if array.shape[3] not in (1, 3):
        raise KaggletkError(f"{source}: {field} has {array.shape[3]} channels; kaggletk reads grayscale (1) or RGB (3)")
    if image_shape is not None and tuple(array.shape[1:3]) != tuple(image_shape[:2]):
        raise KaggletkError(f"{source}: {field} images are {array.shape[1]}x{array.shape[2]}, but image_shape is "
                            f"{tuple(image_shape)}; fix image_shape in competition.py")
    if min(array.shape[1:3]) < 8:
        raise KaggletkError(f"{source}: {field} images are {array.shape[1]}x{array.shape[2]} pixels; kaggletk needs at "
                            "least 8x8")
    array = _pixel_values(array, source, field, n)
    return np.ascontiguousarray(array[..., 0] if array.shape[3] == 1 else array)


def _pixel_values(array: np.ndarray, source: str, field: str, n: int) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
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
    return array.astype(np.uint8)


def as_labels(array: np.ndarray, source: str, field: str, allowed: tuple | None, first_line: int | None = None) -> np.ndarray:
    """Validate labels (against the competition's label set, when it declares one); return int64 or text values.

    Whole numbers (``3``, ``3.0`` in a numeric array) become int64; text stays text. ``first_line``:
    the file line of element 0 (2 for a CSV with a header), so errors cite lines.
    """

    def where(i: int) -> str:
        return f"line {i + first_line}" if first_line is not None else f"row {i}"

    array = np.asarray(array).reshape(-1)
    if array.size == 0:
        raise KaggletkError(f"{source}: {field} is empty")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.rint(array)):
            i = int(np.argwhere(~np.isfinite(array) | (array != np.rint(array)))[0][0])
            raise KaggletkError(f"{source}: {field} {where(i)} is {array[i]!r}; labels must be whole numbers or text")
        values = array.astype(np.int64)
    elif array.dtype.kind in "iu":
        values = array.astype(np.int64)
    elif array.dtype.kind in "US":
        values = array.astype(str)
    else:
        raise KaggletkError(f"{source}: {field} has dtype {array.dtype}; labels must be integers or text")
    if allowed is not None:
        known = {_label_key(v) for v in allowed}
        bad = np.array([_label_key(v) not in known for v in values])
        if bad.any():
            i = int(np.argwhere(bad)[0][0])
            shown = values[i].item() if values.dtype.kind in "iu" else repr(str(values[i]))
            raise KaggletkError(
                f"{source}: {where(i)}, {field}: label {shown} is not in the competition's label set "
                f"{_describe(allowed)}; fix the data or the competition's labels"
            )
    return values


def _label_key(value) -> str:
    return str(value.item() if isinstance(value, np.generic) else value)


def _describe(labels: tuple) -> str:
    shown = ", ".join(str(v) for v in labels[:30])
    return "{" + shown + (", ..." if len(labels) > 30 else "") + "}"


def check_same_length(images: np.ndarray, labels: np.ndarray, source: str, what: str) -> None:
    if len(images) != len(labels):
        raise KaggletkError(f"{source}: {len(images)} {what} images but {len(labels)} labels; the files must match")


def check_ids(ids: np.ndarray, source: str) -> np.ndarray:
    """Test IDs: unique, int64 when they are whole numbers, else text."""
    ids = np.asarray(ids)
    if ids.dtype.kind in "US":
        ids = np.char.strip(ids.astype(str))
        if all(v.lstrip("+-").isdigit() and len(v.lstrip("+-")) < 19 for v in ids):
            ids = ids.astype(np.int64)
    elif ids.dtype.kind == "f" and np.array_equal(ids, np.rint(ids)):
        ids = ids.astype(np.int64)
    elif ids.dtype.kind not in "iu":
        raise KaggletkError(f"{source}: test IDs must be integers or text, found dtype {ids.dtype}")
    import pandas as pd  # here, not at the top: loading a cached dataset must not pay for pandas

    duplicated = pd.Series(ids).duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise KaggletkError(f"{source}: duplicate test ID {ids[row]} (row {row}); IDs must be unique")
    return ids.astype(np.int64) if ids.dtype.kind in "iu" else ids
