"""Every reader on real files: IDX (.gz and plain), CSV (plain, .gz, .zip), HDF5 and .npz."""

from __future__ import annotations

import gzip
import shutil
import zipfile

import h5py
import numpy as np
import pytest

from kaggletk.competition import load_competition
from kaggletk.data import read_source
from kaggletk.data.idx import read_idx
from tests.helpers import REPO, write_csv

FASHION_SAMPLE = REPO / "competitions" / "fashion_mnist" / "sample"
SIGN_SAMPLE = REPO / "competitions" / "sign_mnist" / "sample"


@pytest.fixture(scope="module")
def fashion():
    comp = load_competition("fashion_mnist", _repo_ws())
    return comp, read_source(FASHION_SAMPLE, comp)


def _repo_ws():
    from kaggletk.workspace import Workspace

    return Workspace(REPO)


def test_idx_gz_sample_reads_as_uint8_images(fashion):
    _, raw = fashion
    assert raw.train_images.shape == (3000, 28, 28) and raw.train_images.dtype == np.uint8
    assert raw.test_images.shape == (1000, 28, 28)
    assert np.bincount(raw.train_labels).tolist() == [300] * 10
    assert raw.test_labels is not None and list(raw.test_ids[:3]) == [0, 1, 2]


def test_plain_idx_equals_gzipped_idx(tmp_path, fashion):
    for gz in FASHION_SAMPLE.glob("*.gz"):
        (tmp_path / gz.name[:-3]).write_bytes(gzip.decompress(gz.read_bytes()))
    comp, raw = fashion
    plain = read_source(tmp_path, comp)
    np.testing.assert_array_equal(plain.train_images, raw.train_images)
    np.testing.assert_array_equal(read_idx(tmp_path / "train-labels-idx1-ubyte"), raw.train_labels)


@pytest.mark.parametrize("packing", ["plain", "gz", "zip"])
def test_csv_in_every_packing_equals_the_idx_data(tmp_path, fashion, packing):
    comp, raw = fashion
    train = write_csv(tmp_path / "train.csv", raw.train_labels[:200], raw.train_images[:200])
    test = write_csv(tmp_path / "test.csv", None, raw.test_images[:50])
    if packing == "gz":
        for p in (train, test):
            p.with_name(p.name + ".gz").write_bytes(gzip.compress(p.read_bytes()))
            p.unlink()
    elif packing == "zip":
        for p in (train, test):
            with zipfile.ZipFile(p.with_suffix(".zip"), "w", zipfile.ZIP_DEFLATED) as zf:
                zf.write(p, p.name)
            p.unlink()
    got = read_source(tmp_path, comp)
    np.testing.assert_array_equal(got.train_images, raw.train_images[:200])
    np.testing.assert_array_equal(got.train_labels, raw.train_labels[:200])
    np.testing.assert_array_equal(got.test_images, raw.test_images[:50])
    assert got.test_labels is None and list(got.test_ids) == list(range(50))


def test_sign_csv_sample_keeps_original_label_values():
    comp = load_competition("sign_mnist", _repo_ws())
    raw = read_source(SIGN_SAMPLE, comp)
    assert raw.train_images.shape == (3000, 28, 28)
    assert 9 not in set(raw.train_labels) and 24 in set(raw.train_labels)
    assert set(raw.test_labels) <= set(comp.labels)


def test_hdf5_course_file(tmp_path, fashion):
    comp, raw = fashion
    with h5py.File(tmp_path / "course.h5", "w") as h5:
        h5["train_images"] = raw.train_images[:300]
        h5["train_labels"] = raw.train_labels[:300]
        h5["test_images"] = raw.test_images[:100].reshape(100, 784).astype(np.float32) / 255.0  # scaled floats are accepted
    got = read_source(tmp_path, comp)
    np.testing.assert_array_equal(got.train_images, raw.train_images[:300])
    np.testing.assert_array_equal(got.test_images, raw.test_images[:100])
    assert got.test_labels is None


def test_npz_bundle_with_test_labels_and_ids(tmp_path, fashion):
    comp, raw = fashion
    np.savez_compressed(tmp_path / "data.npz", train_images=raw.train_images[:300], train_labels=raw.train_labels[:300],
                        test_images=raw.test_images[:100], test_labels=raw.test_labels[:100], test_ids=np.arange(100) + 1000)
    got = read_source(tmp_path, comp)
    np.testing.assert_array_equal(got.test_labels, raw.test_labels[:100])
    assert got.test_ids[0] == 1000


def test_full_shared_data_reads(shared_data):
    comp = load_competition("sign_mnist", _repo_ws())
    raw = read_source(shared_data / "sign_mnist", comp)
    assert raw.train_images.shape == (27455, 28, 28) and raw.test_images.shape == (7172, 28, 28)
    assert sorted(set(raw.train_labels)) == list(comp.labels)


def test_kaggle_style_nested_folder_is_found(tmp_path):
    comp = load_competition("sign_mnist", _repo_ws())
    nested = tmp_path / "sign_mnist_train"
    nested.mkdir()
    shutil.copy(SIGN_SAMPLE / "sign_mnist_train.csv.gz", nested)
    shutil.copy(SIGN_SAMPLE / "sign_mnist_test.csv.gz", tmp_path)
    assert read_source(tmp_path, comp).train_images.shape == (3000, 28, 28)
