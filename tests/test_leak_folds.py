"""Leak-aware folds on real Sign MNIST images: near-copies grouped, groups never split, leak reported."""

from __future__ import annotations

import numpy as np
import pytest

from kaggletk.data import load_dataset
from kaggletk.folds import load_folds
from kaggletk.folds.groups import choose_grouping, near_duplicate_groups
from kaggletk.folds.leak import leak_report
from kaggletk.folds.similarity import embed, nearest
from tests.conftest import run_cli


def test_copies_share_a_group_and_different_photos_do_not(project):
    dataset = load_dataset("sign_mnist", "sample")
    base = dataset.train_images[:500]
    photo = base[0].astype(np.int16)
    rng = np.random.default_rng(0)
    copies = np.stack([
        base[0],                                                       # exact copy
        np.clip(photo + 12, 0, 255),                                   # brighter
        np.clip(photo * 0.85, 0, 255),                                 # lower contrast
        np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255),        # sensor noise
    ]).astype(np.uint8)
    # Test images are other photos; keep those with no near-copy among these training images.
    sims = nearest(embed(dataset.test_images[:300]), embed(np.concatenate([base, copies])), k=1)[0][:, 0]
    strangers = dataset.test_images[:300][sims < 0.9][:20]
    assert len(strangers) >= 10
    images = np.concatenate([base, copies, strangers])
    groups = near_duplicate_groups(images, threshold=0.995)
    copy_rows = np.arange(500, 504)
    assert set(groups[copy_rows]) == {groups[0]}
    for row in range(504, len(images)):
        assert (groups == groups[row]).sum() == 1, "a different photo was grouped with other images"


def test_group_folds_never_split_a_group_and_stay_stratified(project):
    dataset = load_dataset("sign_mnist", "sample")
    folds = load_folds(dataset)  # sign_mnist's default scheme is group
    assert folds.scheme == "group" and folds.groups is not None
    for group in np.unique(folds.groups):
        assert len(np.unique(folds.assignment[folds.groups == group])) == 1
    overall = np.bincount(dataset.y, minlength=24) / dataset.n_train
    for fold in range(folds.n_splits):
        _, held = folds.split(fold)
        share = np.bincount(dataset.y[held], minlength=24) / len(held)
        assert np.abs(share - overall).max() < 0.02
        assert abs(len(held) - dataset.n_train / 5) < 0.05 * dataset.n_train
    again = load_folds(dataset)
    assert again.hash == folds.hash


def test_threshold_is_chosen_to_match_test_novelty(project):
    dataset = load_dataset("sign_mnist", "sample")
    grouping = choose_grouping(dataset.train_images, dataset.test_images, dataset.y, 5, 42)
    best = min(grouping.scan, key=lambda row: row["ks"])
    assert grouping.threshold == best["threshold"]
    assert best["ks"] < 0.15
    assert abs(best["held_out_median"] - grouping.test_median) < 0.05


def test_leak_report_flags_random_folds_and_clears_group_folds(project):
    dataset = load_dataset("sign_mnist", "sample")
    stratified = leak_report(dataset, load_folds(dataset, "stratified"))
    grouped = leak_report(dataset, load_folds(dataset, "group"))
    assert stratified.verdict == "leak" and "LEAK" in stratified.text
    assert grouped.verdict in ("ok", "pessimistic")
    assert grouped.stats["ks"] < stratified.stats["ks"]
    for report in (stratified, grouped):
        assert report.text_path.read_text().startswith("Leak report: sign_mnist")
        assert report.png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    status, out, _ = run_cli("folds", "fashion_mnist", "--data", "sample", "--check")
    assert status == 0 and "OK: held-out folds see the same kind of novelty" in out
