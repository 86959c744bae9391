"""Bad data files: one line naming the file, the place and the fix; exit 2; the old cache survives."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from kaggletk.competition import load_competition
from kaggletk.data import fetch, read_source
from kaggletk.errors import KaggletkError
from tests.conftest import run_cli
from tests.helpers import REPO, run_kaggletk, write_csv

FASHION_SAMPLE = REPO / "competitions" / "fashion_mnist" / "sample"


@pytest.fixture(scope="module")
def real():
    from kaggletk.workspace import Workspace

    comp = load_competition("sign_mnist", Workspace(REPO))
    raw = read_source(REPO / "competitions" / "sign_mnist" / "sample", comp)
    return comp, raw.train_labels[:40], raw.train_images[:40]


def _good_csv_pair(folder: Path, labels, images) -> tuple[Path, Path]:
    return (write_csv(folder / "train.csv", labels, images), write_csv(folder / "test.csv", None, images[:10]))


def _edit_line(path: Path, line_no: int, edit) -> None:
    lines = path.read_text().splitlines()
    lines[line_no - 1] = edit(lines[line_no - 1])
    path.write_text("\n".join(lines) + "\n")


def _set_cell(path: Path, line_no: int, col: int, value: str) -> None:
    def edit(line):
        cells = line.split(",")
        cells[col] = value
        return ",".join(cells)

    _edit_line(path, line_no, edit)


CSV_CASES = {
    # case: (edit of a good train.csv, words the message must contain)
    "non-numeric pixel": (lambda p: _set_cell(p, 5, 10, "abc"), ["train.csv", "line 5", "'pixel10'", "'abc'", "not a number"]),
    "NaN pixel": (lambda p: _set_cell(p, 7, 3, "NaN"), ["train.csv", "line 7", "'pixel3'", "not a number"]),
    "empty pixel": (lambda p: _set_cell(p, 4, 784, ""), ["train.csv", "line 4", "'pixel784'", "not a number"]),
    "pixel above 255": (lambda p: _set_cell(p, 3, 100, "256"), ["train.csv", "line 3", "'pixel100'", "value 256", "0-255"]),
    "negative pixel": (lambda p: _set_cell(p, 6, 1, "-1"), ["train.csv", "line 6", "'pixel1'", "value -1", "0-255"]),
    "fractional pixel": (lambda p: _set_cell(p, 6, 2, "1.5"), ["train.csv", "line 6", "'pixel2'", "0-255"]),
    "unknown label": (lambda p: _set_cell(p, 9, 0, "9"), ["train.csv", "line 9", "label 9", "label set"]),
    "label out of range": (lambda p: _set_cell(p, 2, 0, "25"), ["train.csv", "line 2", "label 25"]),
    "non-numeric label": (lambda p: _set_cell(p, 2, 0, "Y"), ["train.csv", "line 2", "'label'", "label 'Y' is not in the competition's label set"]),
    "missing label column": (lambda p: _edit_line(p, 1, lambda h: h.replace("label", "lbl")), ["train.csv", "no label column", "declare label_column"]),
    "missing pixel column": (lambda p: p.write_text("\n".join(",".join(l.split(",")[:-1]) for l in p.read_text().splitlines()) + "\n"),
                             ["train.csv", "783 values per image, which is not a square grayscale or RGB image"]),
    "extra column": (lambda p: p.write_text("\n".join(l + ",0" for l in p.read_text().splitlines()) + "\n"),
                     ["train.csv", "785 values per image"]),
    "ragged row": (lambda p: _edit_line(p, 4, lambda l: l + ",1,2"), ["train.csv", "malformed CSV"]),
    "header only": (lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), ["train.csv", "no data rows"]),
    "empty file": (lambda p: p.write_text(""), ["train.csv", "empty file"]),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_training_csv_is_refused_with_file_line_and_column(tmp_path, real, case):
    comp, labels, images = real
    train, _ = _good_csv_pair(tmp_path, labels, images)
    edit, words = CSV_CASES[case]
    edit(train)
    with pytest.raises(KaggletkError) as info:
        read_source(tmp_path, comp)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, (case, message)


def test_duplicate_test_ids_are_refused(tmp_path, real):
    comp, labels, images = real
    write_csv(tmp_path / "train.csv", labels, images)
    write_csv(tmp_path / "test.csv", None, images[:5], ids=[0, 1, 2, 1, 4])
    with pytest.raises(KaggletkError, match=r"test.csv: duplicate test ID 1 \(row 3\)"):
        read_source(tmp_path, comp)


def test_truncated_gzip_is_refused(tmp_path, real):
    comp, labels, images = real
    train, test = _good_csv_pair(tmp_path, labels, images)
    data = gzip.compress(train.read_bytes())
    train.unlink()
    (tmp_path / "train.csv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(KaggletkError, match=r"train.csv.gz: truncated or corrupt"):
        read_source(tmp_path, comp)


def test_truncated_zip_is_refused(tmp_path, real):
    comp, labels, images = real
    train, _ = _good_csv_pair(tmp_path, labels, images)
    with zipfile.ZipFile(tmp_path / "train.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(train, "train.csv")
    train.unlink()
    data = (tmp_path / "train.zip").read_bytes()
    (tmp_path / "train.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(KaggletkError, match=r"train.zip: (not a valid zip|member train.csv is truncated)"):
        read_source(tmp_path, comp)


def test_truncated_idx_is_refused(tmp_path):
    comp = load_competition("fashion_mnist", _ws())
    for gz in FASHION_SAMPLE.glob("*.gz"):
        (tmp_path / gz.name).write_bytes(gz.read_bytes())
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-100]))
    with pytest.raises(KaggletkError, match=r"train-images-idx3-ubyte.gz: header declares shape \(3000, 28, 28\)"):
        read_source(tmp_path, comp)


def test_idx_labels_not_matching_images_are_refused(tmp_path):
    comp = load_competition("fashion_mnist", _ws())
    for gz in FASHION_SAMPLE.glob("*.gz"):
        (tmp_path / gz.name).write_bytes(gz.read_bytes())
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(labels.read_bytes())
    short = raw[:4] + (2999).to_bytes(4, "big") + raw[8:-1]
    labels.write_bytes(gzip.compress(short))
    with pytest.raises(KaggletkError, match="2,999 labels for the 3,000 images of train-images-idx3-ubyte.gz"):
        read_source(tmp_path, comp)


def test_hdf5_without_expected_keys_lists_what_it_has(tmp_path, real):
    comp, labels, images = real
    with h5py.File(tmp_path / "course.h5", "w") as h5:
        h5["x_train"] = images
        h5["train_labels"] = labels
    with pytest.raises(KaggletkError, match=r"course.h5: missing key\(s\) train_images, test_images \(found: train_labels\)"):
        read_source(tmp_path, comp)


def test_images_of_another_size_than_the_training_ones_are_refused(tmp_path, real):
    comp, labels, images = real
    np.savez(tmp_path / "d.npz", train_images=np.zeros((10, 32, 32), np.uint8), train_labels=labels[:10], test_images=images[:5])
    with pytest.raises(KaggletkError, match=r"d.npz: test images are 28x28, training images 32x32; they must have one size"):
        read_source(tmp_path, comp)
    np.savez(tmp_path / "d.npz", train_images=np.zeros((10, 6, 6), np.uint8), train_labels=labels[:10], test_images=images[:5])
    with pytest.raises(KaggletkError, match=r"d.npz: train_images images are 6x6 pixels; kaggletk needs at least 8x8"):
        read_source(tmp_path, comp)


def test_npz_with_objects_is_not_unpickled(tmp_path, real):
    comp, labels, images = real
    np.savez(tmp_path / "d.npz", train_images=np.array([object()] * 3, dtype=object), train_labels=labels, test_images=images)
    with pytest.raises(KaggletkError, match="no pickle"):
        read_source(tmp_path, comp)


def test_cli_bad_source_is_one_line_exit_2_and_keeps_the_old_cache(project, real):
    comp, labels, images = real
    good = project / "good"
    _good_csv_pair(good, labels, images)
    status, out, _ = run_cli("fetch", "sign_mnist", "--from", str(good))
    assert status == 0 and "40 train, 10 test" in out
    bad = project / "bad"
    train, _ = _good_csv_pair(bad, labels, images)
    _set_cell(train, 5, 10, "abc")
    proc = run_kaggletk("fetch", "sign_mnist", "--from", str(bad))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "train.csv: line 5, column 'pixel10'" in proc.stderr
    assert fetch("sign_mnist").dataset.n_train == 40  # the good cache is intact


def _ws():
    from kaggletk.workspace import Workspace

    return Workspace(REPO)
