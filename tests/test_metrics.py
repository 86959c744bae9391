"""kaggletk's NumPy accuracy and macro-F1 agree with scikit-learn's on real predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss as sk_log_loss

from kaggletk.data import load_dataset
from kaggletk.metrics import LOG_LOSS_EPS, METRICS, accuracy, log_loss, macro_f1, score, weighted_f1


@pytest.fixture
def sign_predictions(project):
    """A quick logistic regression on the Sign MNIST sample: real, imperfect predictions over 24 classes."""
    dataset = load_dataset("sign_mnist", "sample")
    X = dataset.train_images.reshape(dataset.n_train, -1).astype(np.float32) / 255.0
    half = dataset.n_train // 2
    model = LogisticRegression(max_iter=50).fit(X[:half], dataset.y[:half])
    return dataset, dataset.y[half:], model.predict_proba(X[half:])


def test_scores_match_scikit_learn_on_real_predictions(sign_predictions):
    dataset, y, proba = sign_predictions
    pred = proba.argmax(1)
    assert 0.2 < accuracy(y, pred) < 1.0  # imperfect, so every F1 term is exercised
    assert accuracy(y, pred) == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    n = dataset.competition.n_classes
    assert macro_f1(y, pred, n) == pytest.approx(
        f1_score(y, pred, average="macro", labels=np.arange(n), zero_division=0), abs=1e-12)
    assert weighted_f1(y, pred, n) == pytest.approx(
        f1_score(y, pred, average="weighted", labels=np.arange(n), zero_division=0), abs=1e-12)
    full = np.zeros((len(y), n))
    full[:, : proba.shape[1]] = proba  # a class absent from the fit half has probability 0: clipped, as Kaggle does
    # Kaggle's definition: clip to [1e-15, 1 - 1e-15], then renormalise each row; scikit-learn (>= 1.5) no longer
    # renormalises, so it agrees exactly on renormalised rows and only to the float32 row-sum error on raw ones
    clipped = np.clip(full, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
    clipped /= clipped.sum(axis=1, keepdims=True)
    assert log_loss(y, full) == pytest.approx(sk_log_loss(y, clipped, labels=np.arange(n)), rel=1e-12)
    assert log_loss(y, full) == pytest.approx(sk_log_loss(y, full, labels=np.arange(n)), rel=1e-6)
    assert score(y, proba) == pytest.approx({
        "accuracy": accuracy_score(y, pred),
        "macro_f1": f1_score(y, pred, average="macro", labels=np.arange(proba.shape[1]), zero_division=0),
        "weighted_f1": f1_score(y, pred, average="weighted", labels=np.arange(proba.shape[1]), zero_division=0),
        "log_loss": sk_log_loss(y, proba, labels=np.arange(proba.shape[1]))})
    assert [METRICS.get(m).greater_is_better for m in METRICS] == [True, True, True, False]


def test_absent_classes_and_original_label_values(sign_predictions):
    dataset, y, proba = sign_predictions
    pred = proba.argmax(1)
    keep = y < 10  # classes 10.. neither present nor (mostly) predicted: they count as 0 with n_classes
    n = dataset.competition.n_classes
    assert macro_f1(y[keep], pred[keep], n) == pytest.approx(
        f1_score(y[keep], pred[keep], average="macro", labels=np.arange(n), zero_division=0), abs=1e-12)
    # Without n_classes the classes are the values seen, e.g. Sign MNIST's original labels 0-24 without 9.
    values = np.asarray(dataset.competition.labels)
    labels_true, labels_pred = values[y], values[pred]
    assert macro_f1(labels_true, labels_pred) == pytest.approx(
        f1_score(labels_true, labels_pred, average="macro", zero_division=0), abs=1e-12)


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="equal-length"):
        accuracy(np.zeros(3, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="equal-length"):
        macro_f1(np.zeros(3, int), np.zeros(4, int))
