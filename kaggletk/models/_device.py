"""Device flags: ``auto`` picks a GPU when one is there, ``cpu`` hides GPUs, ``gpu`` insists on one."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from kaggletk.errors import KaggletkError

DEVICES = ("auto", "cpu", "gpu")


@functools.cache
def gpu_available() -> bool:
    """True when an NVIDIA GPU is visible (``nvidia-smi -L`` lists one, and CUDA_VISIBLE_DEVICES allows it)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    if shutil.which("nvidia-smi") is None:
        return False
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "GPU" in listing


def resolve_device(device: str, model_name: str, supports_gpu: bool) -> str:
    """``cpu`` or ``gpu`` for a model; a clear error when a GPU is required but absent."""
    if device not in DEVICES:
        raise KaggletkError(f"--device {device!r}: use auto, cpu or gpu")
    if device == "cpu":
        return "cpu"
    if device == "gpu":
        if not supports_gpu:
            raise KaggletkError(f"--device gpu: model {model_name} runs on the CPU only; use --device cpu or auto")
        if not gpu_available():
            raise KaggletkError("--device gpu: no GPU found (nvidia-smi lists none); use --device cpu or auto")
        return "gpu"
    return "gpu" if supports_gpu and gpu_available() else "cpu"


def hide_gpus() -> None:
    """Make CUDA libraries (TensorFlow, XGBoost) see no GPU; effective before they initialise."""
    os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    gpu_available.cache_clear()
