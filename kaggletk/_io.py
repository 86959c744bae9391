"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Files are written to a temporary file beside the target and renamed over it. Temporary files are
created private (``mkstemp``'s 0600); once whole they get the modes any other tool's files would
(0666 and folders 0777, less the umask), so a team sharing a project folder can read each other's runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk._faults import crash_point
from kaggletk.errors import KaggletkError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` if the block succeeds.

    The temporary file lives in the same folder, so the final ``os.replace`` is atomic. On any
    error the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _os_error(path, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        crash_point("before-rename")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _os_error(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """This process's umask, read without changing it (``/proc/self/status``; else set and restored)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def share_dir(path: Path) -> None:
    """Give a folder made by ``mkdtemp`` (0700) the mode ``mkdir`` would have given it."""
    os.chmod(path, 0o777 & ~current_umask())


_verified: dict[tuple[str, int, int], str] = {}


def verified_sha256(path: Path) -> str:
    """sha256 of a file, computed once per process for an unchanged file (same size and modification time)."""
    stat = os.stat(path)
    key = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        _verified[key] = sha256_file(path)
    return _verified[key]


def _os_error(path: Path, exc: OSError) -> KaggletkError:
    reason = exc.strerror or str(exc)
    return KaggletkError(f"{path}: cannot write ({reason}); free some disk space or choose a writable folder")


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KaggletkError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise KaggletkError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg}); delete or repair the file") from exc


def save_npy(path: Path, array: np.ndarray) -> str:
    """Write ``array`` atomically as ``.npy`` and return its sha256."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
    return sha256_file(path)


def save_npz(path: Path, **arrays: np.ndarray) -> str:
    """Write arrays atomically as an uncompressed ``.npz`` and return its sha256."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    return sha256_file(path)


def load_npy(path: Path, sha256: str | None = None, mmap: bool = False) -> np.ndarray:
    """Load an ``.npy`` written by kaggletk, verifying its checksum when one is given."""
    path = Path(path)
    if not path.is_file():
        raise KaggletkError(f"{path}: file not found; rerun the step that made it")
    if sha256 is not None and sha256_file(path) != sha256:
        raise KaggletkError(f"{path}: checksum does not match its manifest; the file was changed or is corrupt, rerun the step that made it")
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except FileNotFoundError as exc:
        raise KaggletkError(f"{path}: file not found") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise KaggletkError(f"{path}: unreadable array ({exc}); rerun the step that made it") from exc


def load_npz(path: Path, sha256: str | None = None) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise KaggletkError(f"{path}: file not found; rerun the step that made it")
    if sha256 is not None and sha256_file(path) != sha256:
        raise KaggletkError(f"{path}: checksum does not match its manifest; the file was changed or is corrupt, rerun the step that made it")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError as exc:
        raise KaggletkError(f"{path}: file not found") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise KaggletkError(f"{path}: unreadable archive ({exc}); rerun the step that made it") from exc


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def replace_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Move a fully written ``tmp_dir`` into place as ``final_dir``, replacing any old one.

    Two renames; a crash between them leaves ``.<name>.old``, which ``recover_dir`` puts back.
    """
    final_dir = Path(final_dir)
    old = final_dir.with_name(f".{final_dir.name}.old")
    recover_dir(final_dir)
    if old.exists():
        shutil.rmtree(old)
    if final_dir.exists():
        os.replace(final_dir, old)
    crash_point("between-dir-renames")
    os.replace(tmp_dir, final_dir)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def recover_dir(final_dir: Path) -> None:
    """Put back the previous folder if a crash in ``replace_dir`` left only its ``.old`` copy."""
    final_dir = Path(final_dir)
    old = final_dir.with_name(f".{final_dir.name}.old")
    if not final_dir.exists() and old.exists():
        os.replace(old, final_dir)
