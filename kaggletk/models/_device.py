"""Device and precision flags, resolved per fit (nothing is set for the whole process).

``--device``: ``auto`` picks a GPU when one is visible and the model can use it, ``cpu`` keeps
the model on the CPU, ``gpu`` insists on one. ``--precision`` (neural networks only): ``auto``
picks bfloat16 compute on CPUs with AVX-512-BF16 or AMX (float32 weights, Keras'
``mixed_bfloat16``), float16 mixed precision on GPUs with tensor cores (compute capability 7.0 and
up), and float32 otherwise.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from kaggletk.errors import KaggletkError

DEVICES = ("auto", "cpu", "gpu")
PRECISIONS = ("auto", "float32", "bfloat16", "mixed_float16")


@functools.cache
def _nvidia_smi(*args: str) -> str:
    if shutil.which("nvidia-smi") is None:
        return ""
    try:
        return subprocess.run(["nvidia-smi", *args], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def gpu_available() -> bool:
    """True when an NVIDIA GPU is visible (``nvidia-smi -L`` lists one, and CUDA_VISIBLE_DEVICES allows it)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    return "GPU" in _nvidia_smi("-L")


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


@functools.cache
def cpu_supports_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512-BF16 or AMX-BF16 in /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def _gpu_has_tensor_cores() -> bool:
    caps = [line.strip() for line in _nvidia_smi("--query-gpu=compute_cap", "--format=csv,noheader").splitlines() if line.strip()]
    try:
        return bool(caps) and min(float(c) for c in caps) >= 7.0
    except ValueError:
        return False


def resolve_precision(precision: str, device: str) -> str:
    """``float32``, ``bfloat16`` or ``mixed_float16`` for a fit on ``device`` (``cpu`` or ``gpu``)."""
    if precision not in PRECISIONS:
        raise KaggletkError(f"--precision {precision!r}: use {', '.join(PRECISIONS)}")
    if precision == "mixed_float16" and device == "cpu":
        raise KaggletkError("--precision mixed_float16 is for GPUs (float16 is slow on a CPU); use bfloat16, float32 or auto")
    if precision != "auto":
        return precision
    if device == "gpu":
        return "mixed_float16" if _gpu_has_tensor_cores() else "float32"
    return "bfloat16" if cpu_supports_bfloat16() else "float32"
