"""IDX files (the original MNIST/Fashion-MNIST format), plain or gzip-compressed."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

from kaggletk.data._base import open_binary
from kaggletk.errors import KaggletkError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


# The most a header may declare: Fashion-MNIST's training images are 47 MB; a header claiming more
# than this is refused before anything is decompressed (a small .gz can inflate to gigabytes).
MAX_BYTES = 4 << 30


def _read_exact(stream, n: int, path: Path, what: str) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise KaggletkError(f"{path}: truncated {what}; download it again")
    return data


def _header(stream, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    head = stream.read(4)
    if len(head) < 4:
        raise KaggletkError(f"{path}: empty or too short for an IDX header; download it again")
    zero, dtype_code, ndim = head[0] << 8 | head[1], head[2], head[3]
    if zero != 0 or dtype_code not in _DTYPES or ndim == 0:
        raise KaggletkError(f"{path}: not an IDX file (bad magic number {head.hex()}); check the file")
    shape = struct.unpack(f">{ndim}I", _read_exact(stream, 4 * ndim, path, "IDX header"))
    dtype = np.dtype(_DTYPES[dtype_code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if expected > MAX_BYTES:
        raise KaggletkError(f"{path}: header declares shape {shape} ({expected / 2**30:.1f} GiB), more than the "
                            f"{MAX_BYTES >> 30} GiB kaggletk reads; check the file")
    return shape, dtype


def idx_shape(path: Path) -> tuple[int, ...]:
    """The shape an IDX file's header declares, reading only the header (to compare files before reading them)."""
    path = Path(path)
    try:
        with open_binary(path) as stream:
            return _header(stream, path)[0]
    except (EOFError, OSError, zlib.error) as exc:
        raise KaggletkError(f"{path}: truncated or corrupt compressed file ({exc}); download it again") from exc


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file, streaming: the header is checked first, then exactly the bytes it declares are read.

    Returns
    -------
    ndarray of the shape declared in the header: (n,) for labels, (n, rows, cols) for images.
    """
    path = Path(path)
    stream = open_binary(path)
    try:
        with stream:
            shape, dtype = _header(stream, path)
            expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            body = bytearray(expected)
            view, got = memoryview(body), 0
            while got < expected:
                n = stream.readinto(view[got:got + (1 << 24)])
                if not n:
                    break
                got += n
            if got != expected:
                raise KaggletkError(f"{path}: header declares shape {shape} ({expected} bytes) but the file holds {got} "
                                    "bytes; download it again")
            if stream.read(1):
                raise KaggletkError(f"{path}: holds more bytes than its header declares (shape {shape}); check the file")
    except (EOFError, OSError, zlib.error) as exc:
        raise KaggletkError(f"{path}: truncated or corrupt compressed file ({exc}); download it again") from exc
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)
