"""Rebuild the small real samples shipped in competitions/<name>/sample/ from the full data.

Usage: python scripts/make_samples.py ../shared/data
Stratified by label, seeded, in each data set's own file format (IDX for Fashion-MNIST, CSV for
Sign MNIST), so the sample also exercises the real readers.
"""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from kaggletk.competition import load_competition
from kaggletk.data import read_source

N_TRAIN, N_TEST, SEED = 3000, 1000, 0


def _pick(labels: np.ndarray, n: int) -> np.ndarray:
    keep, _ = train_test_split(np.arange(len(labels)), train_size=n, stratify=labels, random_state=SEED)
    return np.sort(keep)


def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def _write_csv(path: Path, labels: np.ndarray, images: np.ndarray) -> None:
    header = "label," + ",".join(f"pixel{i}" for i in range(1, 785))
    rows = [header] + [f"{y}," + ",".join(map(str, img.reshape(-1))) for y, img in zip(labels, images)]
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(("\n".join(rows) + "\n").encode())


def main(shared: Path) -> None:
    fashion = load_competition("fashion_mnist")
    raw = read_source(shared / "fashion_mnist", fashion)
    tr, te = _pick(raw.train_labels, N_TRAIN), _pick(raw.test_labels, N_TEST)
    out = fashion.folder / "sample"
    out.mkdir(exist_ok=True)
    _write_idx(out / "train-images-idx3-ubyte.gz", raw.train_images[tr])
    _write_idx(out / "train-labels-idx1-ubyte.gz", raw.train_labels[tr])
    _write_idx(out / "t10k-images-idx3-ubyte.gz", raw.test_images[te])
    _write_idx(out / "t10k-labels-idx1-ubyte.gz", raw.test_labels[te])

    sign = load_competition("sign_mnist")
    raw = read_source(shared / "sign_mnist", sign)
    tr, te = _pick(raw.train_labels, N_TRAIN), _pick(raw.test_labels, N_TEST)
    out = sign.folder / "sample"
    out.mkdir(exist_ok=True)
    _write_csv(out / "sign_mnist_train.csv.gz", raw.train_labels[tr], raw.train_images[tr])
    _write_csv(out / "sign_mnist_test.csv.gz", raw.test_labels[te], raw.test_images[te])


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
