"""Folder locks: ``.lock`` holds the writer's PID and start time; a dead holder's lock is stale."""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Iterator
from pathlib import Path

from kaggletk.errors import KaggletkError


def _process_start(pid: int) -> str:
    """The kernel's start time of a process ("" when unknown): tells a live holder from a reused PID."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _holder_alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return not started or not _process_start(pid) or _process_start(pid) == started


def _read_holder(lock: Path) -> tuple[int, str]:
    try:
        fields = lock.read_text().split()
        return int(fields[0]), (fields[1] if len(fields) > 1 else "")
    except (OSError, ValueError, IndexError):
        return 0, ""


@contextlib.contextmanager
def folder_lock(folder: Path, busy_message: str, wait_seconds: float = 0) -> Iterator[None]:
    """Hold ``folder/.lock`` for the block.

    A live holder makes this wait up to ``wait_seconds`` and then fail with ``busy_message``; a
    lock whose holder is dead (killed, crashed) is taken over.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KaggletkError(f"{folder}: cannot write ({exc.strerror}); choose a writable folder") from exc
    lock = folder / ".lock"
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder, started = _read_holder(lock)
            if holder and holder != os.getpid() and _holder_alive(holder, started):
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                raise KaggletkError(f"{busy_message} by process {holder} ({lock}); wait for it or use another --name") from None
            lock.unlink(missing_ok=True)  # stale: its holder is gone
            continue
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.ENOSPC):
                raise KaggletkError(f"{folder}: cannot write ({exc.strerror}); choose a writable folder") from exc
            raise
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()} {_process_start(os.getpid())}")
        break
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
