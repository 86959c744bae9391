"""Every adapter fits and predicts on a small real slice: shapes, probabilities, better than chance."""

from __future__ import annotations

import numpy as np
import pytest

from kaggletk.errors import KaggletkError
from kaggletk.callbacks import Callback
from kaggletk.models import MODELS, get_model_class
from kaggletk.views import get_view
from tests.helpers import REPO

# Few epochs/rounds: these tests check behaviour, not accuracy; benchmarks measure accuracy.
FAST = {
    "mlp": {"epochs": 4}, "lenet5": {"epochs": 4}, "cnn": {"epochs": 4, "filters": [16, 32, 64], "dense": 64},
    "resnet": {"epochs": 3, "widths": [8, 16, 32, 32], "blocks": 1, "batch_size": 32},  # BN statistics need steps
    "resnet20": {"epochs": 3, "widths": [8, 16, 32], "blocks": 1, "batch_size": 32, "learning_rate": 0.05},
    "xgb": {"n_estimators": 40}, "lgbm": {"n_estimators": 40}, "rf": {"n_estimators": 50}, "logreg": {},
}


@pytest.fixture(scope="module")
def slice_():
    from kaggletk.competition import load_competition
    from kaggletk.data import read_source
    from kaggletk.workspace import Workspace

    comp = load_competition("fashion_mnist", Workspace(REPO))
    raw = read_source(REPO / "competitions" / "fashion_mnist" / "sample", comp)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(raw.train_labels))[:1500]
    images, y = raw.train_images[idx], comp.to_index(raw.train_labels[idx])
    return images[:1200], y[:1200], images[1200:], y[1200:]


class Recorder(Callback):
    def __init__(self):
        self.total, self.steps = None, []

    def on_train_begin(self, total_steps):
        self.total = total_steps

    def on_step_end(self, step, metrics):
        self.steps.append((step, metrics))


@pytest.mark.parametrize("name", list(MODELS))
def test_adapter_fits_and_predicts_probabilities(slice_, name):
    images, y, valid_images, y_valid = slice_
    cls = get_model_class(name)
    view = get_view(cls.default_view).fit(images)
    X, X_valid = view.transform(images), view.transform(valid_images)
    recorder = Recorder()
    model = cls(FAST[name], n_classes=10, device="cpu", seed=0).fit(X, y, X_stop=X_valid, y_stop=y_valid, callbacks=[recorder])
    proba = model.predict_proba(X_valid)
    assert proba.shape == (300, 10) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    accuracy = (proba.argmax(axis=1) == y_valid).mean()
    assert accuracy > 0.4, f"{name}: accuracy {accuracy:.3f} not above chance (0.1)"
    assert recorder.total is not None and recorder.steps, "the step callback was not driven"
    assert model.get_params()["params"] == FAST[name] and model.resolved_params() == {**cls.default_params(), **FAST[name]}
    # every model's steps carry standard keys only, whatever its library
    assert all(set(logs) <= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} for _, logs in recorder.steps)
    if model.stops_early:
        assert "val_loss" in recorder.steps[-1][1] and model.history_["val_loss"]


def test_seeded_cpu_runs_are_reproducible(slice_):
    images, y, valid_images, y_valid = slice_
    view = get_view("pixels")
    cls = get_model_class("mlp")
    a = cls({"epochs": 2}, n_classes=10, device="cpu", seed=3).fit(view.transform(images), y).predict_proba(view.transform(valid_images))
    b = cls({"epochs": 2}, n_classes=10, device="cpu", seed=3).fit(view.transform(images), y).predict_proba(view.transform(valid_images))
    np.testing.assert_array_equal(a, b)


def test_keras_history_is_the_training_record(slice_):
    images, y, valid_images, y_valid = slice_
    view = get_view("image")
    model = get_model_class("lenet5")({"epochs": 3}, n_classes=10, device="cpu").fit(
        view.transform(images), y, X_stop=view.transform(valid_images), y_stop=y_valid)
    assert set(model.history_) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    assert len(model.history_["loss"]) == 3


def test_the_cnn_recipe_knobs_warm_up_smooth_and_erase_in_training_only(slice_):
    """A fixed-length cnn with warm-up, label smoothing and random erasing: the learning rate rises during the
    warm-up then decays, smoothing shows in the training loss (it cannot reach zero), erasing is off at prediction
    (two predictions agree), and the model still learns."""
    images, y, valid_images, y_valid = slice_
    view = get_view("image")
    X, X_valid = view.transform(images), view.transform(valid_images)
    params = {**FAST["cnn"], "epochs": 4, "patience": None, "warmup_epochs": 2, "label_smoothing": 0.2, "erase": 0.5}
    model = get_model_class("cnn")(params, n_classes=10, device="cpu", seed=0)
    assert not model.stops_early  # a fixed-length schedule trains on the whole training part
    model.fit(X, y)
    lr = model.history_["learning_rate"]
    peak = model.resolved_params()["learning_rate"]
    assert lr[0] < lr[1] == pytest.approx(peak, rel=1e-3) and lr[1] > lr[2] > lr[3], lr
    first = model.predict_proba(X_valid)
    np.testing.assert_array_equal(first, model.predict_proba(X_valid))
    assert (first.argmax(axis=1) == y_valid).mean() > 0.4
    # smoothed targets keep the loss above the entropy floor of (1 - s) on the label and s / 10 elsewhere
    floor = -(0.82 * np.log(0.82) + 9 * 0.02 * np.log(0.02))
    assert min(model.history_["loss"]) > floor
    assert model.model_.loss.get_config()["label_smoothing"] == pytest.approx(0.2)
    with pytest.raises(KaggletkError, match=r"'label_smoothing' for model cnn must be in \[0, 1\), got 1"):
        get_model_class("cnn").check_params({"label_smoothing": 1})
    with pytest.raises(KaggletkError, match=r"'erase' for model cnn must be in \[0, 1\], got 2"):
        get_model_class("cnn").check_params({"erase": 2})


def test_bfloat16_computes_the_layers_in_bfloat16_and_keeps_float32_weights_and_probabilities(slice_, tmp_path):
    """``precision="bfloat16"`` (what ``auto`` picks on a CPU with AVX-512-BF16 or AMX): the hidden layers compute
    in bfloat16 over float32 weights, the softmax in float32, so the probabilities are float32 and sum to one; the
    process-wide Keras policy is left at float32; a saved fold model predicts the same after loading, in bfloat16."""
    from kaggletk.models._keras import import_keras

    keras = import_keras()
    images, y, valid_images, y_valid = slice_
    view = get_view("image")
    X, X_valid = view.transform(images), view.transform(valid_images)
    model = get_model_class("cnn")(FAST["cnn"], n_classes=10, device="cpu", seed=0, precision="bfloat16").fit(X, y)
    assert model.precision_ == "bfloat16" and keras.config.dtype_policy().name == "float32"
    convs = [layer for layer in model.model_.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "bfloat16" and layer.variable_dtype == "float32" for layer in convs)
    assert model.model_.layers[-1].compute_dtype == "float32"
    proba = model.predict_proba(X_valid)
    assert proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert (proba.argmax(axis=1) == y_valid).mean() > 0.4
    files = model.save(tmp_path, "fold0")
    loaded = get_model_class("cnn").load(tmp_path, files, device="cpu")
    assert loaded.precision_ == "bfloat16"
    assert all(layer.compute_dtype == "bfloat16" for layer in loaded.model_.layers if isinstance(layer, keras.layers.Conv2D))
    np.testing.assert_allclose(loaded.predict_proba(X_valid), proba, atol=1e-6)
    with pytest.raises(KaggletkError, match="--precision mixed_float16 is for GPUs"):
        get_model_class("mlp")({"epochs": 1}, n_classes=10, device="cpu", precision="mixed_float16").fit(
            get_view("pixels").transform(images), y)


def test_a_keras_fit_prints_none_of_tensorflows_start_up_lines(tmp_path):
    """TensorFlow's C++ start-up lines ("Could not find cuda drivers", absl, CPU feature notes) are silenced at
    its import: a fit in a fresh process writes nothing to stderr."""
    import os
    import subprocess
    import sys

    script = tmp_path / "fit.py"
    script.write_text(
        "import numpy as np\n"
        "from kaggletk.models import get_model_class\n"
        "X = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32); y = np.arange(64) % 10\n"
        "get_model_class('cnn')({'epochs': 1, 'filters': [4, 4, 4], 'dense': 8, 'patience': None}, n_classes=10,\n"
        "                       device='cpu').fit(X, y)\n"
        "print('fitted')\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"} | {"PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "fitted", proc.stderr[-2000:]
    assert proc.stderr.strip() == "", proc.stderr[-2000:]


def test_params_are_checked_by_name_and_type():
    with pytest.raises(KaggletkError, match="unknown parameter 'epoch' for model mlp; did you mean 'epochs'\\? known: .*epochs"):
        get_model_class("mlp").check_params({"epoch": 3})
    with pytest.raises(KaggletkError, match="'epochs' for model cnn must be an integer, got 'ten'"):
        get_model_class("cnn").check_params({"epochs": "ten"})
    with pytest.raises(KaggletkError, match="'max_depth' for model xgb must be an integer"):
        get_model_class("xgb").check_params({"max_depth": 2.5})
    assert get_model_class("xgb").check_params({"gamma": 0.1}) == {"gamma": 0.1}  # native names pass through
    with pytest.raises(KaggletkError, match="unknown parameter 'max_dept' for model xgb; did you mean 'max_depth'"):
        get_model_class("xgb").check_params({"max_dept": 8})
    with pytest.raises(KaggletkError, match="unknown parameter 'num_leafs' for model lgbm; did you mean 'num_leaves'"):
        get_model_class("lgbm").check_params({"num_leafs": 8})
    assert get_model_class("lgbm").check_params({"feature_fraction": 0.5}) == {"feature_fraction": 0.5}  # an alias
    with pytest.raises(KaggletkError, match=r"'dropout' for model cnn must be in \[0, 1\), got 3"):
        get_model_class("cnn").check_params({"dropout": 3})
    with pytest.raises(KaggletkError, match="'schedule' for model mlp must be one of 'plateau', 'cosine', 'constant'"):
        get_model_class("mlp").check_params({"schedule": "step"})
    with pytest.raises(KaggletkError, match="--params for model rf: The 'criterion' parameter"):
        get_model_class("rf").check_params({"criterion": "nonsense"})
    with pytest.raises(KaggletkError, match="--params: unknown parameter 'depth' for model logreg"):
        get_model_class("logreg").check_params({"depth": 3})
    assert get_model_class("rf").check_params({"criterion": "entropy"}) == {"criterion": "entropy"}


def test_gpu_flag_fails_clearly_without_a_gpu(slice_):
    from kaggletk.models._device import gpu_available

    if gpu_available():
        pytest.skip("this machine has a GPU")
    images, y, *_ = slice_
    X = get_view("pca").fit(images).transform(images)
    with pytest.raises(KaggletkError, match="--device gpu: no GPU found"):
        get_model_class("xgb")({"n_estimators": 5}, n_classes=10, device="gpu").fit(X, y)
    with pytest.raises(KaggletkError, match="model logreg runs on the CPU only"):
        get_model_class("logreg")(n_classes=10, device="gpu").fit(X, y)


def test_resnet20_trains_its_sgd_recipe_augments_in_training_only_and_resumes_and_reloads(slice_, tmp_path):
    """The resnet20's recipe: SGD with Nesterov momentum and decoupled weight decay on kernels only; its
    shift/flip/erase layer changes images in training only (a shift keeps pixel values); a fit cut after its
    first epoch resumes from the checkpoint to the uninterrupted model (the layer's random state included);
    and the saved model loads in a fresh process (the layer is registered for ``safe_mode``)."""
    import json
    import subprocess
    import sys

    from kaggletk.models._augment import shift_flip_erase
    from kaggletk.models._keras import import_keras

    keras = import_keras()
    images, y, valid_images, y_valid = slice_
    view = get_view("image")
    X, X_valid = view.transform(images[:600]), view.transform(valid_images)
    y = y[:600]
    # a shift alone moves pixels without interpolation: every output pixel is an input pixel or zero padding
    shifted = np.asarray(shift_flip_erase(keras)(shift_px=2, flip=False, erase_p=0.0, seed=1)(X[:64], training=True))
    assert not np.array_equal(shifted, X[:64]) and set(np.unique(shifted)) <= set(np.unique(X[:64])) | {0.0}
    erased = np.asarray(shift_flip_erase(keras)(shift_px=0, flip=False, erase_p=1.0, seed=1)(X[:64], training=True))
    assert (erased != X[:64]).reshape(64, -1).any(axis=1).all()  # every image has a patch of noise

    params = {**FAST["resnet20"], "hflip": True}
    cls = get_model_class("resnet20")
    whole = cls(params, n_classes=10, device="cpu", seed=3).fit(X, y)
    optimizer = whole.model_.optimizer
    assert type(optimizer).__name__ == "SGD" and optimizer.nesterov and optimizer.weight_decay == pytest.approx(5e-3)
    assert not whole.stops_early and (whole.predict_proba(X_valid).argmax(axis=1) == y_valid).mean() > 0.3

    class Stop(Exception):
        pass

    class StopAfterFirstEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                raise Stop

    with pytest.raises(Stop):
        cls(params, n_classes=10, device="cpu", seed=3).fit(X, y, callbacks=[StopAfterFirstEpoch()],
                                                             checkpoint_dir=tmp_path / "ck")
    resumed = cls(params, n_classes=10, device="cpu", seed=3).fit(X, y, checkpoint_dir=tmp_path / "ck")
    np.testing.assert_allclose(resumed.history_["loss"], whole.history_["loss"], rtol=1e-4)
    np.testing.assert_allclose(resumed.predict_proba(X_valid[:50]), whole.predict_proba(X_valid[:50]), atol=1e-4)

    files = whole.save(tmp_path / "saved", "fold-0")
    np.save(tmp_path / "x.npy", X_valid[:50])
    code = ("import json, sys, numpy as np; from pathlib import Path; from kaggletk.models import get_model_class; "
            "m = get_model_class('resnet20').load(Path(sys.argv[1]), json.loads(sys.argv[2]), device='cpu'); "
            "np.save(sys.argv[3], m.predict_proba(np.load(sys.argv[4])))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "saved"), json.dumps(files), str(tmp_path / "p.npy"),
                           str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), whole.predict_proba(X_valid[:50]), atol=1e-5)
