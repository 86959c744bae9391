"""Helpers for tests: write real data in every format users meet, and run the CLI as a user would."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def write_csv(path: Path, labels, images, *, header: str | None = None, ids=None, compress: bool = False) -> Path:
    """Write images (n, 28, 28) as label,pixel1..784 (labels None: test file without labels)."""
    cols = ([] if ids is None else ["id"]) + ([] if labels is None else ["label"]) + [f"pixel{i}" for i in range(1, 785)]
    lines = [header if header is not None else ",".join(cols)]
    for i, img in enumerate(images):
        cells = ([] if ids is None else [str(ids[i])]) + ([] if labels is None else [str(labels[i])])
        lines.append(",".join(cells + [str(v) for v in np.asarray(img).reshape(-1)]))
    data = ("\n".join(lines) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def run_kaggletk(*argv: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the installed ``kaggletk`` command in a subprocess (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "kaggletk", *argv], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=timeout)
