"""Unpack what the Kaggle client downloaded, refusing archives that would write outside their folder."""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from kaggletk._io import sha256_file
from kaggletk.errors import KaggletkError

_DRIVE = re.compile(r"^[A-Za-z]:")


def _member_parts(name: str) -> tuple[str, ...] | None:
    """The path parts of an archive member, or None when the member could escape the folder.

    Zip files may use either slash; a member is refused when it is absolute (``/x``, ``\\x``,
    ``C:x``) or has a ``..`` part anywhere, even one that would resolve back inside.
    """
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or _DRIVE.match(normalised):
        return None
    parts = tuple(p for p in PurePosixPath(normalised).parts if p not in ("", "."))
    if ".." in parts:
        return None
    return parts


def unpack_zip(archive: Path, dest: Path, source: str) -> list[Path]:
    """Extract every file of ``archive`` into ``dest``, checking all members before writing any.

    Parameters
    ----------
    archive : Path
        The zip file.
    dest : Path
        An existing folder; members land at ``dest/<member path>``.
    source : str
        Where the archive came from (e.g. ``Kaggle dataset owner/name``), for messages.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    KaggletkError
        When the archive is unreadable or a member has an absolute path or a ``..`` part
        (a "zip slip"); nothing is extracted then.
    """
    dest = Path(dest)
    root = dest.resolve()
    try:
        with zipfile.ZipFile(archive) as zf:
            plan = []
            for info in zf.infolist():
                parts = _member_parts(info.filename)
                target = root.joinpath(*parts) if parts is not None else root
                # the resolve() check also catches a member reaching out through a symlink already in dest
                if parts is None or not target.resolve().is_relative_to(root):
                    raise KaggletkError(
                        f"{archive.name} from {source}: archive member {info.filename!r} would be written outside "
                        f"the download folder (absolute path or '..'); refusing to unpack it, nothing was extracted"
                    )
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise KaggletkError(f"{archive.name} from {source}: archive member {info.filename!r} is a symbolic "
                                        f"link; refusing to unpack it, nothing was extracted")
                if parts and not info.is_dir():
                    plan.append((info, target))
            written = []
            for info, target in plan:
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                written.append(target)
    except zipfile.BadZipFile as exc:
        raise KaggletkError(f"{archive.name} from {source}: not a valid zip archive ({exc}); run the command again") from exc
    return written


def drop_duplicates(folder: Path) -> None:
    """Delete files that repeat a shallower file of the same name and content.

    Kaggle data sets often ship a CSV twice (``train.csv`` and ``train/train.csv``); the readers
    refuse to guess between two candidate files, so identical copies are removed, keeping the
    shallowest. Files that differ are kept, and the reader then names both.
    """
    by_name: dict[str, list[Path]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            by_name.setdefault(path.name.lower(), []).append(path)
    for paths in by_name.values():
        if len(paths) < 2:
            continue
        paths.sort(key=lambda p: (len(p.relative_to(folder).parts), str(p)))
        kept: list[tuple[int, str]] = []
        for path in paths:
            key = (path.stat().st_size, sha256_file(path))
            if key in kept:
                path.unlink()
            else:
                kept.append(key)

