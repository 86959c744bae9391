"""The data cache, the sample fallback, saved folds and feature views, on real data."""

from __future__ import annotations

import time

import numpy as np
import pytest

from kaggletk.data import fetch, load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import fold_hash, load_folds
from kaggletk.views import get_view, stateless_features
from tests.conftest import run_cli


def test_fetch_full_data_then_load_from_cache_fast(project, shared_data):
    status, out, _ = run_cli("fetch", "fashion_mnist", "--from", str(shared_data / "fashion_mnist"))
    assert status == 0 and "60000 train, 10000 test" in out and "held-out test labels" in out
    cache = project / "competitions" / "fashion_mnist" / "data" / "full"
    assert (cache / "holdout" / "test_labels.npy").exists()
    start = time.perf_counter()
    dataset = load_dataset("fashion_mnist")
    assert time.perf_counter() - start < 2.0
    assert dataset.variant == "full" and dataset.train_images.shape == (60000, 28, 28)
    assert dataset.train_images.dtype == np.uint8
    assert np.bincount(dataset.holdout_labels()).tolist() == [1000] * 10
    status, out, _ = run_cli("fetch", "fashion_mnist")
    assert status == 0 and "already cached" in out


def test_data_dir_environment_is_a_source(project, shared_data, monkeypatch):
    monkeypatch.setenv("KAGGLETK_DATA_DIR", str(shared_data))
    result = fetch("sign_mnist")
    assert result.source.startswith("KAGGLETK_DATA_DIR") and result.dataset.n_train == 27455
    assert set(result.dataset.train_labels) == set(result.dataset.competition.labels)


def test_without_full_data_cv_data_falls_back_to_the_sample_and_says_so(project):
    from kaggletk.callbacks import Callback

    notes = []

    class Notes(Callback):
        def on_note(self, message):
            notes.append(message)

    dataset = load_dataset("sign_mnist", callbacks=[Notes()])
    assert dataset.variant == "sample" and dataset.n_train == 3000 and dataset.n_test == 1000
    assert len(notes) == 1 and "using the bundled sample" in notes[0]
    with pytest.raises(KaggletkError, match="no data found for sign_mnist"):
        load_dataset("sign_mnist", "full")
    status, _, err = run_cli("fetch", "sign_mnist")
    assert status == 2 and "kaggletk fetch sign_mnist --from FOLDER" in err


def test_folds_are_saved_stable_and_stratified(project):
    dataset = load_dataset("fashion_mnist", "sample")
    first = load_folds(dataset)
    assert first.path.exists() and first.n_splits == 5
    assert sorted(np.unique(first.assignment)) == [0, 1, 2, 3, 4]
    first.path.unlink()
    again = load_folds(dataset)
    assert again.hash == first.hash  # same seed, same assignment
    np.testing.assert_array_equal(again.assignment, first.assignment)
    y = dataset.y
    for fold in range(5):
        train, held = again.split(fold)
        assert len(np.intersect1d(train, held)) == 0 and len(train) + len(held) == dataset.n_train
        share = np.bincount(y[held], minlength=10) / len(held)
        assert np.all(np.abs(share - 0.1) < 0.01)
    assert load_folds(dataset, n_splits=3).hash != first.hash


def test_tampered_fold_file_is_refused(project):
    dataset = load_dataset("fashion_mnist", "sample")
    folds = load_folds(dataset)
    stored = dict(np.load(folds.path))
    stored["assignment"] = np.roll(stored["assignment"], 1)
    np.savez(folds.path, **stored)
    with pytest.raises(KaggletkError, match="saved folds do not match"):
        load_folds(dataset)


def test_fold_hash_depends_on_every_row():
    a = np.array([0, 1, 2, 0, 1, 2], dtype=np.int8)
    b = a.copy()
    b[[0, 1]] = b[[1, 0]]
    assert fold_hash(a) == fold_hash(a.copy()) and fold_hash(a) != fold_hash(b)


def test_views_have_documented_shapes_and_pca_sees_only_the_training_part(project):
    dataset = load_dataset("fashion_mnist", "sample")
    images = dataset.train_images[:500]
    assert get_view("image").transform(images).shape == (500, 28, 28, 1)
    pixels = get_view("pixels").transform(images)
    assert pixels.shape == (500, 784) and pixels.dtype == np.float32 and pixels.max() <= 1.0
    pca = get_view("pca").fit(images[:400])
    np.testing.assert_allclose(pca.pca_.mean_, pixels[:400].mean(axis=0), atol=1e-5)
    assert pca.transform(images[400:]).shape == (100, 80)
    train, test = stateless_features(get_view("hog"), dataset)
    assert train.shape == (3000, 324) and test.shape == (1000, 324)
    assert list(dataset.folder.glob("views/hog-*.npz"))
    both = get_view("pcahog").fit(images[:400])
    np.testing.assert_allclose(both.pca.pca_.mean_, pixels[:400].mean(axis=0), atol=1e-5)  # learnt from the fit rows only
    features = both.transform(images[400:])
    assert features.shape == (100, 80 + 324) and features.dtype == np.float32
    np.testing.assert_allclose(features[:, :80], pca.transform(images[400:]), atol=1e-4)
    np.testing.assert_allclose(features[:, 80:], train[400:500], atol=1e-6)
    with pytest.raises(KaggletkError, match="unknown view; known: image, pixels, pca, hog, pcahog, compact"):
        get_view("edges")


def test_compact_view_learns_from_the_fit_rows_and_reads_hog_from_the_cache(project, monkeypatch):
    from kaggletk.cv import FoldFeatures
    from kaggletk.views.hog import HogView

    dataset = load_dataset("fashion_mnist", "sample")
    folds = load_folds(dataset)
    fit_idx, valid_idx = folds.split(0)
    X_fit, X_valid, X_test = FoldFeatures(get_view("compact"), dataset).for_fold(fit_idx, valid_idx)
    assert X_fit.shape == (len(fit_idx), 80) and X_valid.shape == (len(valid_idx), 80) and X_test.shape == (1000, 80)
    assert X_fit.dtype == np.float32
    assert len(list(dataset.folder.glob("views/hog-*.npz"))) == 1  # the fine-cell HOG, stored once for every fold
    # The same numbers as the view computing HOG from the images itself, fitted on the fit rows alone.
    direct = get_view("compact").fit(dataset.train_images[fit_idx])
    np.testing.assert_allclose(X_fit, direct.transform(dataset.train_images[fit_idx]), atol=1e-4)
    np.testing.assert_allclose(X_valid, direct.transform(dataset.train_images[valid_idx]), atol=1e-4)
    np.testing.assert_allclose(X_test, direct.transform(dataset.test_images), atol=1e-4)
    # Had the held-out rows reached the PCAs, their features would differ.
    leaky = get_view("compact").fit(dataset.train_images[np.concatenate([fit_idx, valid_idx])])
    assert not np.allclose(X_valid, leaky.transform(dataset.train_images[valid_idx]), atol=1e-3)

    # Another run's folds read the HOG from the cache: computing it again would fail here.
    def no_recompute(self, images, parts=None):
        raise AssertionError("HOG recomputed instead of read from the cache")

    monkeypatch.setattr(HogView, "transform", no_recompute)
    again = FoldFeatures(get_view("compact"), dataset).for_fold(*folds.split(1))
    assert again[0].shape == (len(folds.split(1)[0]), 80)


def test_folds_command_prints_the_hash(project):
    status, out, _ = run_cli("folds", "fashion_mnist", "--data", "sample")
    assert status == 0
    assert load_folds(load_dataset("fashion_mnist", "sample")).hash in out


def test_debian_dataset_folder_is_a_source_for_fashion(project):
    from pathlib import Path

    debian = Path("/usr/share/datasets/fashion-mnist")
    if not (debian / "train-images-idx3-ubyte.gz").exists():
        pytest.skip("Debian's dataset-fashion-mnist package is not installed (apt-get install dataset-fashion-mnist)")
    result = fetch("fashion_mnist")
    assert result.source == f"Debian package {debian}" and result.dataset.n_train == 60000
    assert result.dataset.holdout_labels() is not None
