"""Single-file bundles: HDF5 (the course file) and NumPy ``.npz``.

Both hold ``train_images``, ``train_labels`` and ``test_images``; optionally ``test_labels`` (held
out, for local scoring) and ``test_ids``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from kaggletk.errors import KaggletkError

REQUIRED_KEYS = ("train_images", "train_labels", "test_images")
OPTIONAL_KEYS = ("test_labels", "test_ids")


def read_bundle(path: Path) -> dict[str, np.ndarray]:
    """Read an HDF5 or ``.npz`` bundle into a dict of arrays (required keys checked)."""
    path = Path(path)
    if path.suffix == ".npz":
        arrays = _read_npz(path)
    else:
        arrays = _read_hdf5(path)
    missing = [k for k in REQUIRED_KEYS if k not in arrays]
    if missing:
        found = ", ".join(sorted(arrays)) or "(none)"
        raise KaggletkError(
            f"{path}: missing key(s) {', '.join(missing)} (found: {found}); a bundle needs "
            "train_images, train_labels and test_images"
        )
    return arrays


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files if k in REQUIRED_KEYS + OPTIONAL_KEYS}
    except ValueError as exc:  # object arrays need pickle, which untrusted files never get
        raise KaggletkError(f"{path}: holds object arrays, which kaggletk does not load (no pickle); save plain numeric arrays") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise KaggletkError(f"{path}: not a readable .npz ({exc}); check or re-create the file") from exc


def _read_hdf5(path: Path) -> dict[str, np.ndarray]:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            out = {}
            for key in REQUIRED_KEYS + OPTIONAL_KEYS:
                if key in h5:
                    node = h5[key]
                    if not isinstance(node, h5py.Dataset):
                        raise KaggletkError(f"{path}: {key} is a group, expected an array")
                    out[key] = node[()]
            if not out:
                found = ", ".join(sorted(h5.keys())) or "(none)"
                raise KaggletkError(
                    f"{path}: no train_images/train_labels/test_images keys (found: {found}); "
                    "a bundle needs train_images, train_labels and test_images"
                )
            return out
    except OSError as exc:
        raise KaggletkError(f"{path}: not a readable HDF5 file ({exc}); check or re-create the file") from exc
