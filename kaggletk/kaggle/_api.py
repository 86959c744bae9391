"""The Kaggle calls kaggletk makes, by slug and path: download a competition's or data set's files,
submit a file, list submissions, read the day's submission limit.

Nothing here knows kaggletk's competitions, runs or submission format: validation and matching
submissions to runs live in ``kaggletk.submission``; this is only the client.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kaggletk.errors import KaggletkError
from kaggletk.kaggle._archive import drop_duplicates, unpack_zip
from kaggletk.kaggle._client import UploadFailed, connect, run

Notify = Callable[[str], None]

_PAGE_SIZE = 20
_MAX_PAGES = 50


@dataclass(frozen=True)
class SubmitResponse:
    """Kaggle's answer to a submission: its message, the submission id and the submissions left today."""

    message: str
    ref: int | None
    remaining_today: int | None


@dataclass(frozen=True)
class RemoteSubmission:
    """One submission as Kaggle lists it.

    Attributes
    ----------
    ref : int, Kaggle's submission id
    date : datetime or None, when it was submitted (UTC, naive)
    file_name : str, the uploaded file's name
    description : str, the submission message
    status : {"pending", "complete", "error"}
    public_score, private_score : float or None, None until scored (or while hidden)
    error : str, Kaggle's error description for a failed submission
    """

    ref: int
    date: datetime | None
    file_name: str
    description: str
    status: str
    public_score: float | None
    private_score: float | None
    error: str


def _competition_errors(what: str, slug: str, origin: str) -> dict[int, str]:
    return {404: f"{what}: Kaggle has no competition {slug!r} ({{detail}}); check the slug (the last part of "
                 f"https://www.kaggle.com/competitions/<slug>) set by {origin}",
            403: f"{what}: Kaggle refused it ({{detail}}); join the competition and accept its rules at "
                 f"https://www.kaggle.com/competitions/{slug}/rules"}


def download_files(dest: Path, *, competition: str | None = None, dataset: str | None = None, origin: str = "",
                   hint: str = "", notify: Notify | None = None) -> Path:
    """Download a competition's files (or a data set's) from Kaggle into ``dest`` and unpack them safely.

    Parameters
    ----------
    dest : Path
        An empty folder; the download and the unpacked files go below it.
    competition, dataset : str
        The competition slug, or ``owner/dataset``; one of them.
    origin : str
        Where the slug or data set was set, for messages (``kaggle_competition in competition.py``).
    hint : str
        Appended to the missing-credentials message (another way to reach the goal).

    Returns
    -------
    Path
        The folder holding the unpacked files (exact duplicates removed), for ``read_source``.

    Raises
    ------
    KaggletkError
        No credentials, Kaggle refusing or unreachable, an archive with members outside the
        folder (absolute paths or ``..``), or an empty download.
    """
    if not competition and not dataset:
        raise KaggletkError(f"no Kaggle source to download from; set kaggle_dataset or kaggle_competition in {origin or 'competition.py'}")
    source = f"Kaggle competition {competition}" if competition else f"Kaggle dataset {dataset}"
    what = f"downloading {source}"
    api = connect(what, hint=hint, notify=notify)
    download, files = Path(dest) / "download", Path(dest) / "files"

    def fetch_once() -> None:
        shutil.rmtree(download, ignore_errors=True)  # a failed attempt may leave a partial file
        download.mkdir(parents=True)
        if competition:
            api.competition_download_files(competition, path=str(download), force=True, quiet=True)
        else:
            api.dataset_download_files(dataset, path=str(download), force=True, quiet=True, unzip=False)

    if competition:
        errors = _competition_errors(what, competition, origin)
    else:
        errors = {404: f"{what}: Kaggle has no dataset {dataset!r} ({{detail}}); check kaggle_dataset in {origin}",
                  403: f"{what}: Kaggle refused it ({{detail}}); open https://www.kaggle.com/datasets/{dataset} "
                       f"and accept its terms"}
    run(fetch_once, what=what, errors=errors, notify=notify)
    files.mkdir(parents=True, exist_ok=True)
    for path in sorted(download.iterdir()):
        if zipfile.is_zipfile(path):
            unpack_zip(path, files, source)
            path.unlink()
        else:
            shutil.move(str(path), str(files / path.name))
    drop_duplicates(files)
    if not any(p.is_file() for p in files.rglob("*")):
        raise KaggletkError(f"{what}: the download holds no files; check the source on kaggle.com or use "
                            "`kaggletk fetch COMP --from FOLDER`")
    return files


def submit_file(path: Path, message: str, competition: str, *, origin: str = "", notify: Notify | None = None) -> SubmitResponse:
    """Upload ``path`` to the Kaggle competition as a submission described by ``message``."""
    what = f"submitting {Path(path).name} to {competition}"
    api = connect(what, notify=notify)

    def submit_once():
        response = api.competition_submit(str(path), message, competition, quiet=True)
        if response.message == api.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE:
            raise UploadFailed(response.message)  # nothing was created: safe to start again
        return response

    errors = {**_competition_errors(what, competition, origin),
              404: f"{what}: Kaggle has no competition {competition!r} open for submissions ({{detail}}); check the slug "
                   f"(the last part of https://www.kaggle.com/competitions/<slug>) set by {origin}",
              400: f"{what}: Kaggle refused it ({{detail}})"}
    response = run(submit_once, what=what, errors=errors, notify=notify)
    return SubmitResponse(response.message or "submitted", response.ref or None, _remaining_today(api, competition))


def list_submissions(competition: str, *, origin: str = "", notify: Notify | None = None) -> list[RemoteSubmission]:
    """Every submission of the competition, newest first (all pages)."""
    what = f"listing submissions of {competition}"
    api = connect(what, notify=notify)
    errors = _competition_errors(what, competition, origin)
    found, seen = [], set()
    for page in range(1, _MAX_PAGES + 1):
        batch = run(api.competition_submissions, competition, page_number=page, page_size=_PAGE_SIZE,
                    what=what, errors=errors, notify=notify) or []
        new = [s for s in batch if s is not None and s.ref not in seen]
        seen.update(s.ref for s in new)
        found.extend(new)
        if len(batch) < _PAGE_SIZE or not new:  # a short page is the last; a repeated one means no paging
            break
    return [_remote(s) for s in found]


def _remote(sub) -> RemoteSubmission:
    date = sub.date
    if date is not None and date.tzinfo is not None:
        date = date.astimezone(timezone.utc).replace(tzinfo=None)
    return RemoteSubmission(
        ref=sub.ref, date=date, file_name=Path(sub.file_name or "").name, description=sub.description or "",
        status=getattr(sub.status, "name", str(sub.status)).lower(), public_score=_score(sub.public_score),
        private_score=_score(sub.private_score), error=sub.error_description or "",
    )


def _score(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _remaining_today(api, slug: str) -> int | None:
    """Best effort: the submission was made, so a failure here only loses this extra line."""
    try:
        limits = run(api.competition_get_submission_limits, slug, what="reading submission limits", attempts=1)
    except KaggletkError:
        return None
    return limits.num_allowed_now
