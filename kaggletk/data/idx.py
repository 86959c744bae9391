"""IDX files (the original MNIST/Fashion-MNIST format), plain or gzip-compressed."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from kaggletk.data._base import read_all
from kaggletk.errors import KaggletkError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file.

    Returns
    -------
    ndarray of the shape declared in the header: (n,) for labels, (n, rows, cols) for images.
    """
    path = Path(path)
    raw = read_all(path)
    if len(raw) < 4:
        raise KaggletkError(f"{path}: empty or too short for an IDX header; download it again")
    zero, dtype_code, ndim = raw[0] << 8 | raw[1], raw[2], raw[3]
    if zero != 0 or dtype_code not in _DTYPES or ndim == 0:
        raise KaggletkError(f"{path}: not an IDX file (bad magic number {raw[:4].hex()}); check the file")
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise KaggletkError(f"{path}: truncated IDX header; download it again")
    shape = struct.unpack(f">{ndim}I", raw[4:header_end])
    dtype = np.dtype(_DTYPES[dtype_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[header_end:]
    if len(body) != expected:
        raise KaggletkError(
            f"{path}: header declares shape {shape} ({expected} bytes) but the file holds {len(body)} bytes; download it again"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="), copy=True)
