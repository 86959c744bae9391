"""Kaggle: download a competition's data, submit a file, list submissions beside their CV score.

Everything goes through the official ``kaggle`` client (imported lazily, in ``_client``). The
competition slug is ``--competition``, else ``$KAGGLETK_COMPETITION``, else ``kaggle_competition``
in ``competitions/<name>/competition.py`` (``Competition.submission_slug``).

A Kaggle submission is matched to a local file by its file name: ``submissions/<comp>/<name>.csv``
was written from the run or blend ``<name>`` in the OOF store, whose out-of-fold score is the CV
shown next to Kaggle's public and private scores.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from kaggletk.competition import Competition, load_competition
from kaggletk.errors import KaggletkError
from kaggletk.kaggle._archive import drop_duplicates, unpack_zip
from kaggletk.kaggle._client import UploadFailed, connect, run
from kaggletk.workspace import Workspace, workspace

__all__ = ["SubmitResult", "KaggleSubmission", "SubmissionList", "download_data", "submit", "list_submissions"]

Notify = Callable[[str], None]

_PAGE_SIZE = 20
_MAX_PAGES = 50


@dataclass(frozen=True)
class SubmitResult:
    """What was (or, with ``dry_run``, would be) sent to Kaggle and what Kaggle answered.

    Attributes
    ----------
    competition : str, the Kaggle competition slug
    file : Path, the submission file (validated)
    rows : int, its number of rows
    message : str, the submission description
    run : str or None, the OOF-store run or blend the file is named after
    cv : float or None, that run's out-of-fold score in the competition's metric
    dry_run : bool, True when nothing was sent
    kaggle_message : str, Kaggle's answer ('' on a dry run)
    ref : int or None, Kaggle's submission id when it gave one
    remaining_today : int or None, submissions Kaggle still allows today, when it said
    """

    competition: str
    file: Path
    rows: int
    message: str
    run: str | None
    cv: float | None
    dry_run: bool
    kaggle_message: str = ""
    ref: int | None = None
    remaining_today: int | None = None


@dataclass(frozen=True)
class KaggleSubmission:
    """One submission on Kaggle, with the local file and CV it came from when found.

    Attributes
    ----------
    ref : int, Kaggle's submission id
    date : datetime or None, when it was submitted (UTC)
    file_name : str, the uploaded file's name
    description : str, the submission message
    status : {"pending", "complete", "error"}
    public_score, private_score : float or None, None until scored (or while hidden)
    error : str, Kaggle's error description for a failed submission
    local_file : Path or None, ``submissions/<comp>/<file_name>`` when it exists
    run : str or None, the run or blend named like the file
    cv : float or None, that run's out-of-fold score in the competition's metric
    changed_since : bool, the local file was rewritten after this submission, so CV may be of another file
    """

    ref: int
    date: datetime | None
    file_name: str
    description: str
    status: str
    public_score: float | None
    private_score: float | None
    error: str
    local_file: Path | None
    run: str | None
    cv: float | None
    changed_since: bool


@dataclass(frozen=True)
class SubmissionList:
    """The submissions of one Kaggle competition, newest first, and the CV metric's name."""

    competition: str
    metric: str
    submissions: list[KaggleSubmission]


def download_data(comp: Competition, dest: Path, notify: Notify | None = None) -> Path:
    """Download a competition's data from Kaggle into ``dest`` and unpack it safely.

    The Kaggle competition (``comp.submission_slug()``) is downloaded when one is set, since its
    test set is the one submissions answer; else the data set ``comp.kaggle_dataset``.

    Parameters
    ----------
    comp : Competition
    dest : Path
        An empty folder; the download and the unpacked files go below it.

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
    slug = comp.submission_slug()
    if not slug and not comp.kaggle_dataset:
        raise KaggletkError(f"{comp.name} declares no Kaggle source; set kaggle_dataset or kaggle_competition in "
                            f"{_definition(comp)}, or use `kaggletk fetch {comp.name} --from FOLDER`")
    source = f"Kaggle competition {slug}" if slug else f"Kaggle dataset {comp.kaggle_dataset}"
    what = f"downloading {source}"
    api = connect(what, hint=f"; or build the cache from local files with `kaggletk fetch {comp.name} --from FOLDER`",
                  notify=notify)
    download, files = Path(dest) / "download", Path(dest) / "files"

    def fetch_once() -> None:
        shutil.rmtree(download, ignore_errors=True)  # a failed attempt may leave a partial file
        download.mkdir(parents=True)
        if slug:
            api.competition_download_files(slug, path=str(download), force=True, quiet=True)
        else:
            api.dataset_download_files(comp.kaggle_dataset, path=str(download), force=True, quiet=True, unzip=False)

    if slug:
        errors = {404: f"{what}: Kaggle has no competition {slug!r} ({{detail}}); check the slug (the last part of "
                       f"https://www.kaggle.com/competitions/<slug>) set by {_slug_origin(comp, None)}",
                  403: f"{what}: Kaggle refused it ({{detail}}); join the competition and accept its rules at "
                       f"https://www.kaggle.com/competitions/{slug}/rules"}
    else:
        errors = {404: f"{what}: Kaggle has no dataset {comp.kaggle_dataset!r} ({{detail}}); check kaggle_dataset in "
                       f"{_definition(comp)}",
                  403: f"{what}: Kaggle refused it ({{detail}}); open https://www.kaggle.com/datasets/{comp.kaggle_dataset} "
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
                            f"`kaggletk fetch {comp.name} --from FOLDER`")
    return files


def submit(comp: str, path: Path, message: str, *, competition: str | None = None, dry_run: bool = False,
           ws: Workspace | None = None, notify: Notify | None = None) -> SubmitResult:
    """Validate a submission file, then submit it to the competition on Kaggle.

    The file gets the checks of ``kaggletk validate`` against the full data's test set (Kaggle
    scores every test row, so a file made on the bundled sample is refused here rather than by
    Kaggle, after using one of the day's submissions).

    Parameters
    ----------
    comp : str
        Competition name (folder under ``competitions/``).
    path : Path
        The CSV to submit, usually ``submissions/<comp>/<run>.csv``.
    message : str
        Submission description shown on Kaggle.
    competition : str, optional
        Kaggle slug, overriding ``$KAGGLETK_COMPETITION`` and the competition's ``kaggle_competition``.
    dry_run : bool
        Validate and return what would be sent, without contacting Kaggle.

    Raises
    ------
    KaggletkError
        Invalid file (naming the first bad row), no slug configured (saying where to set it),
        no credentials, Kaggle refusing the submission or the upload failing after retries.
    """
    ws = ws or workspace()
    definition = load_competition(comp, ws)
    path = Path(path)
    if not message or not message.strip():
        raise KaggletkError("-m/--message is empty; describe the submission, e.g. -m 'cnn-image, CV 0.995'")
    rows = _validate_for_kaggle(comp, path, ws)
    slug = _require_slug(definition, competition)
    run_name, cv = _run_cv(definition, path.name, ws)
    result = SubmitResult(slug, path, rows, message, run_name, cv, dry_run)
    if dry_run:
        return result
    what = f"submitting {path.name} to {slug}"
    api = connect(what, notify=notify)

    def submit_once():
        response = api.competition_submit(str(path), message, slug, quiet=True)
        if response.message == api.COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE:
            raise UploadFailed(response.message)  # nothing was created: safe to start again
        return response

    errors = {404: f"{what}: Kaggle has no competition {slug!r} open for submissions ({{detail}}); check the slug (the "
                   f"last part of https://www.kaggle.com/competitions/<slug>) set by {_slug_origin(definition, competition)}",
              403: f"{what}: Kaggle refused it ({{detail}}); join the competition and accept its rules at "
                   f"https://www.kaggle.com/competitions/{slug}/rules",
              400: f"{what}: Kaggle refused it ({{detail}})"}
    response = run(submit_once, what=what, errors=errors, notify=notify)
    return replace(result, kaggle_message=response.message or "submitted", ref=response.ref or None,
                   remaining_today=_remaining_today(api, slug))


def list_submissions(comp: str, *, competition: str | None = None, ws: Workspace | None = None,
                     notify: Notify | None = None) -> SubmissionList:
    """The Kaggle submissions of a competition with their scores, each matched to its local file and CV.

    Parameters
    ----------
    comp : str
        Competition name.
    competition : str, optional
        Kaggle slug, overriding ``$KAGGLETK_COMPETITION`` and ``kaggle_competition``.

    Raises
    ------
    KaggletkError
        No slug configured, no credentials, Kaggle refusing or unreachable after retries.
    """
    ws = ws or workspace()
    definition = load_competition(comp, ws)
    slug = _require_slug(definition, competition)
    what = f"listing submissions of {slug}"
    api = connect(what, notify=notify)
    errors = {404: f"{what}: Kaggle has no competition {slug!r} ({{detail}}); check the slug (the last part of "
                   f"https://www.kaggle.com/competitions/<slug>) set by {_slug_origin(definition, competition)}",
              403: f"{what}: Kaggle refused it ({{detail}}); join the competition and accept its rules at "
                   f"https://www.kaggle.com/competitions/{slug}/rules"}
    found, seen = [], set()
    for page in range(1, _MAX_PAGES + 1):
        batch = run(api.competition_submissions, slug, page_number=page, page_size=_PAGE_SIZE,
                    what=what, errors=errors, notify=notify) or []
        new = [s for s in batch if s is not None and s.ref not in seen]
        seen.update(s.ref for s in new)
        found.extend(new)
        if len(batch) < _PAGE_SIZE or not new:  # a short page is the last; a repeated one means no paging
            break
    return SubmissionList(slug, definition.metric, [_matched(s, definition, ws) for s in found])


def _definition(comp: Competition) -> str:
    return str(comp.folder / "competition.py") if comp.folder else f"competitions/{comp.name}/competition.py"


def _slug_origin(comp: Competition, override: str | None) -> str:
    if override:
        return "--competition"
    if os.environ.get("KAGGLETK_COMPETITION"):
        return "KAGGLETK_COMPETITION"
    return f"kaggle_competition in {_definition(comp)}"


def _require_slug(comp: Competition, override: str | None) -> str:
    slug = comp.submission_slug(override)
    if not slug:
        raise KaggletkError(
            f"no Kaggle competition set for {comp.name}: set kaggle_competition=\"<slug>\" in {_definition(comp)}, "
            f"or pass --competition SLUG (or set KAGGLETK_COMPETITION); the slug is the last part of the "
            f"competition's address, https://www.kaggle.com/competitions/<slug>"
        )
    return slug


def _validate_for_kaggle(comp: str, path: Path, ws: Workspace) -> int:
    from kaggletk.data import load_dataset
    from kaggletk.submission import read_submission

    if not path.is_file():
        raise KaggletkError(f"{path}: file not found; write one with `kaggletk predict {comp} --run RUN`")
    try:
        dataset = load_dataset(comp, "full", ws)
    except KaggletkError as exc:
        if not str(exc).startswith("no data found"):
            raise
        raise KaggletkError(f"{path}: cannot check it against the full test set Kaggle scores, since {comp} has no full "
                            f"data here; run `kaggletk fetch {comp}` first") from exc
    return len(read_submission(path, dataset))


def _run_cv(comp: Competition, file_name: str, ws: Workspace) -> tuple[str | None, float | None]:
    """The run or blend a submission file is named after, and its out-of-fold score (None, None if none)."""
    from kaggletk.store import load_run

    name = Path(file_name).stem
    try:
        found = load_run(comp.name, name, ws)
    except KaggletkError:
        return None, None
    cv = found.manifest.get("cv") or {}
    score = cv.get(f"oof_{comp.metric}", cv.get("oof_accuracy"))
    return found.name, float(score) if isinstance(score, (int, float)) else None


def _matched(sub, comp: Competition, ws: Workspace) -> KaggleSubmission:
    file_name = Path(sub.file_name or "").name
    local = ws.comp_submissions_dir(comp.name) / file_name if file_name else None
    local = local if local is not None and local.is_file() else None
    run_name, cv = _run_cv(comp, file_name, ws) if file_name else (None, None)
    date = sub.date
    if date is not None and date.tzinfo is not None:
        date = date.astimezone(timezone.utc).replace(tzinfo=None)
    changed = bool(local and date and datetime.fromtimestamp(local.stat().st_mtime, timezone.utc).replace(tzinfo=None) > date)
    status = getattr(sub.status, "name", str(sub.status)).lower()
    return KaggleSubmission(
        ref=sub.ref, date=date, file_name=file_name, description=sub.description or "", status=status,
        public_score=_score(sub.public_score), private_score=_score(sub.private_score),
        error=sub.error_description or "", local_file=local, run=run_name, cv=cv, changed_since=changed,
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
