"""Inference with a finished run: its saved fold models (and each fold's fitted view) on new images.

A run made with saved models (the default) keeps, beside each fold file, the fold's model in its
library's own format and the view's fitted state (the fold's PCA, for instance), listed with their
sha256 in the manifest. ``predict_images`` reads new images exactly as the training data was read
(an array, a CSV with pixel columns, or a folder of images), transforms them with each fold's view,
and averages the fold models' probabilities, as the run's test predictions were made; on the test
images it gives the run's stored test probabilities exactly. A blend combines its inputs'
predictions with its weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kaggletk._io import load_npz
from kaggletk.errors import KaggletkError
from kaggletk.store import Run, load_run


def read_images(source: np.ndarray | str | Path, dataset) -> np.ndarray:
    """New images as (n, h, w[, c]) uint8, validated like the training data and of its size."""
    from kaggletk.data._base import as_images

    shape = dataset.image_shape
    if isinstance(source, np.ndarray):
        images = as_images(source, "images", "images", shape)
    else:
        path = Path(source)
        if path.is_dir():
            from kaggletk.data.folder import image_files, read_images as read_folder

            images = as_images(read_folder(image_files(path), path), str(path), "images", shape)
        elif path.exists():
            from kaggletk.data.csv import read_csv

            table = read_csv(path, require_label=False, label_column=dataset.competition.label_column)
            images = as_images(table.pixels, str(path), "pixels", shape)
        else:
            raise KaggletkError(f"{path}: not found; --images takes a CSV of pixel columns or a folder of images")
    if images.shape[1:] != dataset.train_images.shape[1:]:
        raise KaggletkError(f"the images are {images.shape[1:]}, the run was trained on {dataset.train_images.shape[1:]}; "
                            "predict images of the competition's size and colour mode")
    return images


def predict_images(run: Run, source: np.ndarray | str | Path) -> np.ndarray:
    """Probabilities (n, n_classes) float32 of new images: the mean of the run's fold models (or the blend of its inputs)."""
    from kaggletk.data import load_dataset

    m = run.manifest
    dataset = load_dataset(m.competition, m.data)
    images = read_images(source, dataset)
    if m.blend is not None:
        return _blend(run, images)
    return _fold_average(run, images)


def _fold_average(run: Run, images: np.ndarray) -> np.ndarray:
    from kaggletk.models import MODELS
    from kaggletk.views import get_view

    m = run.manifest
    if not run.complete:
        raise KaggletkError(f"run {run.name} is partial; finish it with `kaggletk cv` before predicting with it")
    model_cls = MODELS.get(m.model)
    total = np.zeros((len(images), len(run.test()[0])), dtype=np.float64)
    for fold in range(m.n_folds):
        files = m.folds[fold].extra.get("model")
        if not files:
            raise KaggletkError(f"run {run.name} has no saved fold models (made with --no-models, before kaggletk saved "
                                f"them, or model {m.model} cannot save its own); train it again with `kaggletk cv ... "
                                "--overwrite` to predict new images")
        view_entry = files["view"]
        view = get_view(m.view, **m.view_params).set_state(load_npz(run.folder / view_entry["file"], view_entry["sha256"]))
        model = model_cls.load(run.folder, {role: files[role] for role in ("model", "meta")})
        total += model.predict_proba(view.transform(images))
    return (total / m.n_folds).astype(np.float32)


def _blend(run: Run, images: np.ndarray) -> np.ndarray:
    blend = run.manifest.blend
    inputs = [load_run(run.manifest.competition, name) for name in blend.runs]
    probas = np.stack([predict_images(r, images) for r in inputs])
    if blend.method == "rank":
        from kaggletk.blend.rank import rank_average

        return rank_average(probas)
    if blend.method == "stack":
        from kaggletk._io import sha256_file
        from kaggletk.blend.stack import load_stacker, predict_stack

        models = []
        for name, digest in sorted(blend.details.get("files", {}).items()):
            path = run.folder / name
            if not path.exists() or sha256_file(path) != digest:
                raise KaggletkError(f"{path}: missing or changed since the blend was made; blend again")
            models.append(load_stacker(path))
        if not models:
            raise KaggletkError(f"blend {run.name} was made before kaggletk saved level-2 models; blend again")
        return predict_stack(models, probas, bool(blend.details.get("log_odds")), probas.shape[2])
    weights = blend.details.get("weights") if blend.method in ("mean", "hill") else None
    if weights is None:
        raise KaggletkError(f"blend {run.name} ({blend.method}) cannot predict new images yet; predict with a mean, rank "
                            "or hill blend, or with its input runs")
    w = np.array([weights[r.name] for r in inputs], dtype=np.float64)
    return np.tensordot(w / w.sum(), probas.astype(np.float64), axes=1).astype(np.float32)
