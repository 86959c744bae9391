"""Folder locks held by the kernel: ``fcntl.flock`` on ``<folder>/.lock``, released when the holder exits or dies.

One writer at a time per folder: the lock is taken before anything is written and held until the
last file is renamed into place. Because the kernel owns it, a killed writer's lock is gone the
moment the process is (no stale locks, no PID guessing), and two processes can never both hold it.
The lock file itself is never deleted (deleting it would let a second process lock a new file of
the same name while the first still holds the old one); it holds the holder's PID, for messages.

On a network file system ``flock`` is as good as the server's locking: NFS (v4, or v3 with lockd)
emulates it with byte-range locks that every client sees; SMB/CIFS mounts, sshfs and some FUSE file
systems may grant it to every client. Runs written from several machines should use the Ray
executor (``kaggletk cv --ray``), where the driver alone writes the run.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from kaggletk.errors import KaggletkError

LOCK_NAME = ".lock"
_POLL_SECONDS = 0.1


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", errors="replace").split()
    except OSError:
        return ""
    return text[0] if text and text[0].isdigit() else ""


def is_locked(folder: Path) -> bool:
    """Whether some process holds ``folder``'s lock now (for tests and status lines)."""
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


@contextlib.contextmanager
def folder_lock(folder: Path, busy_message: str, wait_seconds: float = 0, shared: bool = False,
                fix: str = "wait for it or use another --name") -> Iterator[None]:
    """Hold ``folder/.lock`` for the block: exclusively (a writer), or ``shared`` with other readers.

    A live holder that excludes this one makes it wait up to ``wait_seconds`` (polling) and then
    fail with ``busy_message``, naming the writer's PID when it wrote one, and then ``fix``.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise KaggletkError(f"{folder}: cannot write ({exc.strerror}); choose a writable folder") from exc
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    by = f" by process {holder}" if holder else " by another process"
                    raise KaggletkError(f"{busy_message}{by} ({folder / LOCK_NAME}); {fix}") from None
                time.sleep(_POLL_SECONDS)
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                    raise KaggletkError(f"{folder}: this file system does not support locks ({exc.strerror}); "
                                        "use a local folder for oof/ and the data cache") from exc
                raise
        if shared:
            yield
            return
        try:  # the PID is for messages only; a full disk must not stop the lock
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # no writer now
    finally:
        os.close(fd)  # releases the lock (the kernel would, too, if this process died)
