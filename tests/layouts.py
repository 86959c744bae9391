"""Real Fashion-MNIST images written in the layouts Kaggle competitions use, for end-to-end tests of new competitions.

Every writer takes the same real slice (images and labels from the shipped sample) and writes a
folder as a Kaggle download would look, plus ``solution.csv`` (the test labels by ID, as Kaggle
publishes after a competition) so that local scoring can join on the ID the way Kaggle does.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.helpers import REPO

NAMES = ("tshirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot")


@dataclass
class Slice:
    train_images: np.ndarray  # (n, 28, 28) uint8
    train_labels: np.ndarray  # (n,) 0..9
    test_images: np.ndarray
    test_labels: np.ndarray


def fashion_slice(n_train: int = 400, n_test: int = 150) -> Slice:
    from kaggletk.competition import load_competition
    from kaggletk.data import read_source
    from kaggletk.workspace import Workspace

    comp = load_competition("fashion_mnist", Workspace(REPO))
    raw = read_source(REPO / "competitions" / "fashion_mnist" / "sample", comp)
    return Slice(raw.train_images[:n_train], raw.train_labels[:n_train], raw.test_images[:n_test], raw.test_labels[:n_test])


def _write(path: Path, header: list[str], rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def digit_recognizer(folder: Path, s: Slice) -> dict:
    """Kaggle's Digit Recognizer layout: label,pixel0..pixel783; an unlabeled test.csv; ImageId,Label from 1."""
    pixels = [f"pixel{i}" for i in range(784)]
    _write(folder / "train.csv", ["label", *pixels], ([int(y), *img.ravel()] for y, img in zip(s.train_labels, s.train_images)))
    _write(folder / "test.csv", pixels, (img.ravel() for img in s.test_images))
    ids = [str(i + 1) for i in range(len(s.test_images))]
    _write(folder / "sample_submission.csv", ["ImageId", "Label"], ([i, 0] for i in ids))
    _write(folder / "solution.csv", ["ImageId", "Label"], zip(ids, map(int, s.test_labels)))
    return {"ids": ids, "labels": list(map(str, s.test_labels))}


def shuffled_columns(folder: Path, s: Slice) -> dict:
    """pixel1..pixel784 in a random order, the label column in the middle; the test file shuffled another way."""
    rng = np.random.default_rng(7)
    names = [f"pixel{i}" for i in range(1, 785)]
    order = rng.permutation(784)
    header = [names[j] for j in order[:300]] + ["label"] + [names[j] for j in order[300:]]
    _write(folder / "train.csv", header,
           ([*img.ravel()[order[:300]], int(y), *img.ravel()[order[300:]]] for y, img in zip(s.train_labels, s.train_images)))
    test_order = rng.permutation(784)
    _write(folder / "test.csv", [names[j] for j in test_order], (img.ravel()[test_order] for img in s.test_images))
    ids = [str(i) for i in range(len(s.test_images))]
    _write(folder / "sample_submission.csv", ["id", "label"], ([i, 0] for i in ids))
    _write(folder / "solution.csv", ["id", "label"], zip(ids, map(int, s.test_labels)))
    return {"ids": ids, "labels": list(map(str, s.test_labels))}


def string_labels(folder: Path, s: Slice) -> dict:
    """Text labels ("sneaker", "bag"...), an unlabeled test file, a sample submission with a text placeholder."""
    pixels = [f"pixel{i}" for i in range(784)]
    _write(folder / "train.csv", ["class", *pixels], ([NAMES[y], *img.ravel()] for y, img in zip(s.train_labels, s.train_images)))
    _write(folder / "test.csv", pixels, (img.ravel() for img in s.test_images))
    ids = [f"img_{i:05d}" for i in range(len(s.test_images))]
    _write(folder / "sample_submission.csv", ["id", "class"], ([i, NAMES[0]] for i in ids))
    _write(folder / "solution.csv", ["id", "class"], ((i, NAMES[y]) for i, y in zip(ids, s.test_labels)))
    return {"ids": ids, "labels": [NAMES[y] for y in s.test_labels]}


def id_column_in_test(folder: Path, s: Slice) -> dict:
    """An ID column in the test file whose rows are in another order than the sample submission's; labels with gaps."""
    values = np.array([-3, 2, 4, 7, 11, 13, 20, 21, 30, 99])  # non-contiguous, one negative
    pixels = [f"pixel{i}" for i in range(784)]
    _write(folder / "train.csv", ["label", *pixels], ([int(values[y]), *img.ravel()] for y, img in zip(s.train_labels, s.train_images)))
    ids = [str(5000 + 3 * i) for i in range(len(s.test_images))]
    shuffled = np.random.default_rng(3).permutation(len(ids))
    _write(folder / "test.csv", ["Id", *pixels], ([ids[k], *s.test_images[k].ravel()] for k in shuffled))
    _write(folder / "sample_submission.csv", ["Id", "Category"], ([i, int(values[0])] for i in ids))
    _write(folder / "solution.csv", ["Id", "Category"], ((i, int(values[y])) for i, y in zip(ids, s.test_labels)))
    return {"ids": ids, "labels": [str(values[y]) for y in s.test_labels]}


def rgb_folders(folder: Path, s: Slice, side: int = 32) -> dict:
    """train/<id>.png and test/<id>.png, RGB at side x side (the images upscaled, each tinted its own way), labels CSV beside."""
    from PIL import Image

    def rgb(img: np.ndarray, k: int) -> Image.Image:
        big = np.asarray(Image.fromarray(img).resize((side, side), Image.BILINEAR), dtype=np.float32)
        tint = np.array([1.0, 0.6 + 0.04 * (k % 10), 0.3 + 0.07 * (k % 10)])
        return Image.fromarray(np.clip(big[..., None] * tint, 0, 255).astype(np.uint8), "RGB")

    (folder / "train").mkdir(parents=True)
    (folder / "test").mkdir()
    train_ids = [f"tr{i:04d}" for i in range(len(s.train_images))]
    for k, (i, img) in enumerate(zip(train_ids, s.train_images)):
        rgb(img, k).save(folder / "train" / f"{i}.png")
    _write(folder / "train.csv", ["id", "label"], ((f"{i}.png", int(y)) for i, y in zip(train_ids, s.train_labels)))
    ids = [f"te{i:04d}" for i in range(len(s.test_images))]
    for k, (i, img) in enumerate(zip(ids, s.test_images)):
        rgb(img, k + 3).save(folder / "test" / f"{i}.png")
    _write(folder / "sample_submission.csv", ["id", "label"], ([i, 0] for i in ids))
    _write(folder / "solution.csv", ["id", "label"], zip(ids, map(int, s.test_labels)))
    return {"ids": ids, "labels": list(map(str, s.test_labels))}


LAYOUTS = {"digit-recognizer": digit_recognizer, "shuffled-columns": shuffled_columns, "string-labels": string_labels,
           "test-id-column": id_column_in_test, "rgb-folders": rgb_folders}
