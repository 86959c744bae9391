"""Where kaggletk reads and writes: the project folder and its generated sub-folders.

The project root is ``$KAGGLETK_HOME`` when set, else the nearest folder at or above the current
directory that holds a ``competitions/`` folder, else the folder this package was installed from
(an editable install of the repository).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kaggletk.errors import KaggletkError

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_name(name: str, what: str) -> str:
    """Refuse names that could escape their folder (``/``, ``..``, empty, hidden)."""
    if not isinstance(name, str) or not _SAFE_NAME.match(name) or ".." in name:
        raise KaggletkError(
            f"invalid {what} {name!r}: use letters, digits, '_', '-' or '.', starting with a letter or digit, with no '/' or '..'"
        )
    return name


@dataclass(frozen=True)
class Workspace:
    """The folders of one kaggletk project."""

    root: Path

    @property
    def competitions_dir(self) -> Path:
        return self.root / "competitions"

    @property
    def oof_dir(self) -> Path:
        return self.root / "oof"

    @property
    def submissions_dir(self) -> Path:
        return self.root / "submissions"

    def competition_dir(self, comp: str) -> Path:
        return self.competitions_dir / check_name(comp, "competition name")

    def data_dir(self, comp: str) -> Path:
        return self.competition_dir(comp) / "data"

    def comp_oof_dir(self, comp: str) -> Path:
        return _folder(self.oof_dir / check_name(comp, "competition name"), f"the runs of {comp}")

    def run_dir(self, comp: str, run: str) -> Path:
        return self.comp_oof_dir(comp) / check_name(run, "run name")

    def comp_submissions_dir(self, comp: str) -> Path:
        return _folder(self.submissions_dir / check_name(comp, "competition name"), f"the submissions of {comp}")


def workspace() -> Workspace:
    """The current project's workspace (re-read from the environment on every call)."""
    env = os.environ.get("KAGGLETK_HOME")
    if env:
        return Workspace(Path(env).resolve())
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "competitions").is_dir():
            return Workspace(folder)
    package_parent = Path(__file__).resolve().parent.parent
    if (package_parent / "competitions").is_dir():
        return Workspace(package_parent)
    raise KaggletkError(
        f"no kaggletk project found at or above {here}: run from the project folder (the one holding competitions/) or set KAGGLETK_HOME"
    )


def _folder(path: Path, what: str) -> Path:
    """``path``, refused in one line when something other than a folder is there."""
    if path.exists() and not path.is_dir():
        raise KaggletkError(f"{path}: a file where kaggletk keeps {what} (a folder); move or delete it")
    return path
