"""The Kaggle calls kaggletk makes, by slug and path: download a competition's or data set's files,
submit a file (never twice), list submissions, wait for a score, read a competition's metric.

Nothing here knows kaggletk's competitions, runs or submission format: validation and matching
submissions to runs live in ``kaggletk.submission``; this is only the client.

A submission is three calls: ``StartSubmissionUpload`` (an upload address), the ``PUT`` of the
file, and ``CreateSubmission``, which uses one of the day's submissions. The first two create
nothing and are retried like any call; the third is never repeated blindly: when its answer is
lost (a 5xx, a time-out, a dropped connection), Kaggle's list of submissions says whether it went
through, and it is tried once more only when Kaggle answered with an error and lists nothing.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kaggletk.errors import KaggletkError
from kaggletk.kaggle._archive import drop_duplicates, unpack_zip
from kaggletk.kaggle._client import Notify, call, connect, final_error, http_status, retry_base_seconds, run, tell, transient_reason

Progress = Callable[[str, int, int | None], None]
"""``progress(file_name, bytes_done, bytes_total)``, called as a download goes (total None when unknown)."""

_PAGE_SIZE = 20
_MAX_PAGES = 50
_CHUNK_BYTES = 1 << 16
_CREATE_ATTEMPTS = 2
_CLOCK_SKEW = timedelta(minutes=5)  # a submission listed this long before the create began may still be it
_FIRST_POLL_SECONDS = 5.0


@dataclass(frozen=True)
class SubmitResponse:
    """Kaggle's answer to a submission.

    Attributes
    ----------
    message : str, Kaggle's message (or what kaggletk learnt when the answer was lost)
    ref : int or None, the submission id
    remaining_today : int or None, submissions left today after this one, when Kaggle said
    reply_lost : bool, Kaggle's answer was lost and its list of submissions showed this one
    """

    message: str
    ref: int | None
    remaining_today: int | None
    reply_lost: bool = False


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


@dataclass(frozen=True)
class CompetitionInfo:
    """A competition as Kaggle's competition list describes it.

    Attributes
    ----------
    slug : str, the last part of https://www.kaggle.com/competitions/<slug>
    title : str
    evaluation_metric : str, as Kaggle names it ("Categorization Accuracy", "Multiclass Loss"); '' when not given
    deadline : datetime or None, UTC, naive
    """

    slug: str
    title: str
    evaluation_metric: str
    deadline: datetime | None


def _competition_errors(what: str, slug: str, origin: str) -> dict[int, str]:
    return {404: f"{what}: Kaggle has no competition {slug!r} ({{detail}}); check the slug (the last part of "
                 f"https://www.kaggle.com/competitions/<slug>) set by {origin}",
            403: f"{what}: Kaggle refused it ({{detail}}); join the competition and accept its rules at "
                 f"https://www.kaggle.com/competitions/{slug}/rules"}


# -- downloads -------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Download:
    """One download: where it comes from, the SDK call that starts it, and what Kaggle names the file."""

    source: str  # "Kaggle competition <slug>" or "Kaggle dataset <owner>/<slug>"
    stem: str  # the file is <stem><suffix of the address Kaggle redirects to>, as the kaggle CLI names it
    start: Callable[[Any], Any]  # KaggleClient -> the streamed response

    def file_name(self, url: str) -> str:
        return self.stem + (Path(urlsplit(url).path).suffix or ".zip")


def _competition_download(slug: str) -> _Download:
    def start(kaggle):
        from kagglesdk.competitions.types.competition_api_service import ApiDownloadDataFilesRequest

        request = ApiDownloadDataFilesRequest()
        request.competition_name = slug
        return kaggle.competitions.competition_api_client.download_data_files(request)

    return _Download(f"Kaggle competition {slug}", slug, start)


def _dataset_download(dataset: str) -> _Download:
    owner, _, slug = dataset.partition("/")

    def start(kaggle):
        from kagglesdk.datasets.types.dataset_api_service import ApiDownloadDatasetRequest

        request = ApiDownloadDatasetRequest()
        request.owner_slug, request.dataset_slug = owner, slug
        return kaggle.datasets.dataset_api_client.download_dataset(request)

    return _Download(f"Kaggle dataset {dataset}", slug, start)


def download_files(dest: Path, *, competition: str | None = None, dataset: str | None = None, origin: str = "",
                   hint: str = "", notify: Notify | None = None, progress: Progress | None = None) -> Path:
    """Download a competition's files (or a data set's) from Kaggle into ``dest`` and unpack them safely.

    Each attempt streams the file afresh; a failure on the way (a dropped connection, a wait for
    the next piece longer than ``$KAGGLETK_TRANSFER_TIMEOUT_SECONDS``, a 5xx) is retried and
    reported through ``notify``.

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
    notify : callable or None
        Receives retry notices and warnings (else they go to stderr).
    progress : callable or None
        ``progress(file_name, bytes_done, bytes_total)`` as the bytes arrive (``Progress``).

    Returns
    -------
    Path
        The folder holding the unpacked files (exact duplicates removed), for ``read_source``.

    Raises
    ------
    KaggletkError
        No credentials, Kaggle refusing or unreachable, a damaged archive or one with members
        outside the folder (absolute paths or ``..``), or an empty download. Messages name the
        file as Kaggle calls it (``<slug>.zip from Kaggle competition <slug>``), never a local path.
    """
    if not competition and not dataset:
        raise KaggletkError(f"no Kaggle source to download from; set kaggle_dataset or kaggle_competition in {origin or 'competition.py'}")
    download = _competition_download(competition) if competition else _dataset_download(str(dataset))
    what = f"downloading {download.source}"
    api = connect(what, hint=hint, notify=notify)
    if competition:
        errors = _competition_errors(what, competition, origin)
    else:
        errors = {404: f"{what}: Kaggle has no dataset {dataset!r} ({{detail}}); check kaggle_dataset in {origin}",
                  403: f"{what}: Kaggle refused it ({{detail}}); open https://www.kaggle.com/datasets/{dataset} "
                       f"and accept its terms"}
    folder, files = Path(dest) / "download", Path(dest) / "files"
    folder.mkdir(parents=True, exist_ok=True)
    archive = run(_fetch, api, download, folder, progress, what=what, errors=errors, notify=notify)
    files.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".zip":
        unpack_zip(archive, files, download.source)
        archive.unlink()
    else:
        shutil.move(str(archive), str(files / archive.name))
    drop_duplicates(files)
    if not any(p.is_file() for p in files.rglob("*")):
        raise KaggletkError(f"{what}: the download holds no files; check the source on kaggle.com or use "
                            "`kaggletk fetch COMP --from FOLDER`")
    return files


def _fetch(api, download: _Download, folder: Path, progress: Progress | None) -> Path:
    """One attempt: start the download and stream it into ``folder``; returns the file written."""
    with api.build_kaggle_client(api.timeouts.stream) as kaggle:
        response = download.start(kaggle)
        try:
            target = folder / download.file_name(response.url)
            _save(response, target, f"{target.name} from {download.source}", progress, api.timeouts.transfer)
        finally:
            response.close()
    return target


def _save(response, target: Path, label: str, progress: Progress | None, limit: float) -> None:
    import requests
    from urllib3.exceptions import ReadTimeoutError

    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    done = 0
    try:
        with open(target, "wb") as out:  # a retry starts the file again
            for chunk in response.iter_content(_CHUNK_BYTES):
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(target.name, done, total)
    except requests.ConnectionError as exc:  # how requests reports a stall in the middle of a file
        if not any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
            raise
        raise requests.ReadTimeout(f"nothing arrived (read timeout={limit:g})", request=response.request) from exc
    except OSError as exc:
        if isinstance(exc, requests.RequestException):  # requests' errors are OSErrors too: they are retried
            raise
        raise KaggletkError(f"{label}: cannot save it ({exc.strerror or type(exc).__name__}); free some disk space "
                            f"(downloads go to the temporary folder, TMPDIR) and run the command again") from exc


# -- submissions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Submission:
    """One submission being made: the file, its message, where it goes, and how to report."""

    api: Any
    path: Path
    message: str
    competition: str
    what: str
    errors: dict[int, str]
    notify: Notify | None

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/competitions/{self.competition}/submissions"


@dataclass(frozen=True)
class _Uncertain:
    """A create whose answer was lost; ``answered``: Kaggle did answer (5xx, 429), so it has finished with it."""

    reason: str
    answered: bool


def submit_file(path: Path, message: str, competition: str, *, origin: str = "", notify: Notify | None = None) -> SubmitResponse:
    """Upload ``path`` to the Kaggle competition as a submission described by ``message``, at most once.

    Before uploading, the day's remaining submissions are read and told through ``notify``
    ("4 submissions left today"); none left ends here. Starting the upload and sending the file
    are retried like any call. Creating the submission is not: when its answer is lost, the
    competition's submissions are listed and one with this file name and message, made since
    the attempt began, is this one (``reply_lost``). When none is listed it is created again
    only if Kaggle had answered with an error (5xx or 429), and at most once more.

    Parameters
    ----------
    path : Path
        The file to upload.
    message : str
        The submission description.
    competition : str
        The competition slug.
    origin : str
        Where the slug was set, for messages.
    notify : callable or None
        Receives the remaining submissions, retries and what the submission list showed.

    Raises
    ------
    KaggletkError
        No submissions left today, no credentials, Kaggle refusing the file or the competition,
        Kaggle unreachable before anything was created, or a create that Kaggle neither
        confirmed nor lists (saying that nothing was created, and where to look).
    """
    path = Path(path)
    what = f"submitting {path.name} to {competition}"
    api = connect(what, notify=notify)
    errors = {**_competition_errors(what, competition, origin),
              404: f"{what}: Kaggle has no competition {competition!r} open for submissions ({{detail}}); check the slug "
                   f"(the last part of https://www.kaggle.com/competitions/<slug>) set by {origin}",
              400: f"{what}: Kaggle refused it ({{detail}})"}
    sub = _Submission(api, path, message, competition, what, errors, notify)
    left = _submissions_left(sub)
    token = run(_upload, sub, what=what, errors=errors, notify=notify)
    ref, answer, lost = _create_at_most_once(sub, token)
    return SubmitResponse(answer, ref, None if left is None else max(0, left - 1), lost)


def _submissions_left(sub: _Submission) -> int | None:
    """Today's remaining submissions, told to the user; None when unknown. Raises when none are left."""
    try:
        limits = call(sub.api.competition_get_submission_limits, sub.competition, what=sub.what)
    except KaggletkError:
        raise
    except Exception as exc:  # best effort: a refusal here is explained by the upload's own answer
        reason = transient_reason(exc)
        if reason is not None:
            tell(f"{sub.competition}: cannot read today's submission limit ({reason}); submitting anyway", sub.notify)
        return None
    if not (limits.num_today or limits.num_total or limits.num_allowed_now):
        return None  # all zero: not in a team of this competition yet, which the upload's answer explains
    if limits.num_allowed_now <= 0:
        limit = (f"the competition's limit of {limits.num_total} submissions in all is reached" if limits.limited_by_total
                 else f"{limits.num_today} made today; Kaggle's daily count starts again at 00:00 UTC")
        raise KaggletkError(f"{sub.what}: no submissions left ({limit}); nothing was sent")
    tell(f"{sub.competition}: {limits.num_allowed_now} submissions left today, this one included", sub.notify)
    return limits.num_allowed_now


def _upload(sub: _Submission) -> str:
    """Get an upload address and PUT the file there; creates nothing, so it is safe to repeat. Returns the blob token."""
    import requests
    from kagglesdk.competitions.types.competition_api_service import ApiStartSubmissionUploadRequest

    request = ApiStartSubmissionUploadRequest()
    request.competition_name = sub.competition
    request.file_name = sub.path.name
    request.content_length = sub.path.stat().st_size
    request.last_modified_epoch_seconds = int(sub.path.stat().st_mtime)
    with sub.api.build_kaggle_client() as kaggle:
        started = kaggle.competitions.competition_api_client.start_submission_upload(request)
    with open(sub.path, "rb") as fh:
        response = requests.put(started.create_url, data=fh, timeout=sub.api.timeouts.stream)
    if response.status_code >= 500 or response.status_code == 429:
        response.raise_for_status()  # retried
    if response.status_code not in (200, 201):
        raise KaggletkError(f"{sub.what}: the upload of {sub.path.name} was refused (HTTP {response.status_code}); "
                            f"nothing was submitted; try again later")
    return started.token


def _create(sub: _Submission, token: str):
    from kagglesdk.competitions.types.competition_api_service import ApiCreateSubmissionRequest

    request = ApiCreateSubmissionRequest()
    request.competition_name = sub.competition
    request.blob_file_tokens = token
    request.submission_description = sub.message
    with sub.api.build_kaggle_client() as kaggle:
        return kaggle.competitions.competition_api_client.create_submission(request)


def _create_at_most_once(sub: _Submission, token: str) -> tuple[int | None, str, bool]:
    """(ref, Kaggle's message, reply lost) of the one submission created from ``token``."""
    for attempt in range(1, _CREATE_ATTEMPTS + 1):
        since = _utc_now() - _CLOCK_SKEW
        try:
            response = call(_create, sub, token, what=sub.what)
            return response.ref or None, response.message or "submitted", False
        except KaggletkError:
            raise
        except Exception as exc:
            failure = _uncertain(exc, sub)
        again = " again" if attempt > 1 else ""
        tell(f"{sub.what}: {failure.reason}{again}; checking Kaggle's list of submissions before anything else", sub.notify)
        time.sleep(retry_base_seconds())  # a slow create may still be landing
        found = _find_created(sub, since, failure)
        if found is not None:
            return found.ref, f"reply lost ({failure.reason}), but the submission is listed as ref {found.ref}", True
        if attempt == _CREATE_ATTEMPTS or not failure.answered:
            raise KaggletkError(_not_created(sub, failure, attempt))
        tell(f"{sub.what}: Kaggle lists no such submission, so nothing was created; creating it once more", sub.notify)
    raise AssertionError("unreachable")


def _uncertain(exc: Exception, sub: _Submission) -> _Uncertain:
    """What a failed create leaves unknown; a failure that is not transient (4xx) is final at once."""
    reason = transient_reason(exc)
    if reason is None:
        raise final_error(exc, sub.what, sub.errors) from exc
    return _Uncertain(reason, http_status(exc) is not None)


def _find_created(sub: _Submission, since: datetime, failure: _Uncertain) -> RemoteSubmission | None:
    """The listed submission of this file with this message made since ``since``, or None."""
    what = f"checking whether {sub.path.name} reached {sub.competition}"
    try:
        listed = _page(sub.api, sub.competition, 1, what, sub.errors, sub.notify)
    except KaggletkError as exc:
        raise KaggletkError(f"{sub.what}: Kaggle did not confirm the submission ({failure.reason}) and its list cannot be "
                            f"read ({exc}); look at {sub.url} before submitting again") from exc
    return next((s for s in listed if s.file_name == sub.path.name and s.description.strip() == sub.message.strip()
                 and s.date is not None and s.date >= since), None)


def _not_created(sub: _Submission, failure: _Uncertain, attempts: int) -> str:
    if failure.answered:
        return (f"{sub.what}: Kaggle failed to create the submission {attempts} times ({failure.reason}) and lists none, "
                f"so nothing was created; try again later")
    return (f"{sub.what}: Kaggle did not answer the create ({failure.reason}) and lists no submission of {sub.path.name} "
            f"with this message, so nothing was created; if one appears at {sub.url} later, do not submit again")


def list_submissions(competition: str, *, origin: str = "", notify: Notify | None = None) -> list[RemoteSubmission]:
    """Every submission of the competition, newest first (all pages)."""
    what = f"listing submissions of {competition}"
    api = connect(what, notify=notify)
    errors = _competition_errors(what, competition, origin)
    found, seen = [], set()
    for page in range(1, _MAX_PAGES + 1):
        batch = _page(api, competition, page, what, errors, notify)
        new = [s for s in batch if s.ref not in seen]
        seen.update(s.ref for s in new)
        found.extend(new)
        if len(batch) < _PAGE_SIZE or not new:  # a short page is the last; a repeated one means no paging
            break
    return found


def wait_for_submission(competition: str, ref: int, *, timeout: float, poll_interval: float = 60.0, origin: str = "",
                        notify: Notify | None = None) -> RemoteSubmission | None:
    """Poll the competition's submissions until Kaggle has scored ``ref`` or ``timeout`` seconds have passed.

    Polls start 5 s apart (or ``poll_interval`` when shorter) and grow by half each time up to
    ``poll_interval``, as the kaggle CLI's ``--wait`` does; each status change is told through
    ``notify``.

    Returns
    -------
    RemoteSubmission or None
        The submission once its status is ``complete`` or ``error``; as last listed (``pending``)
        when the time ran out; None when Kaggle never listed it.
    """
    what = f"waiting for submission {ref} to {competition}"
    api = connect(what, notify=notify)
    errors = _competition_errors(what, competition, origin)
    deadline = time.monotonic() + timeout
    interval, status, last = min(_FIRST_POLL_SECONDS, poll_interval), "", None
    while True:
        last = next((s for s in _page(api, competition, 1, what, errors, notify) if s.ref == ref), last)
        current = last.status if last is not None else "not listed yet"
        if current != status:
            tell(f"submission {ref}: {current}", notify)
            status = current
        left = deadline - time.monotonic()
        if current in ("complete", "error") or left <= 0:
            return last
        time.sleep(min(interval, left))
        interval = min(poll_interval, interval * 1.5)


def _page(api, competition: str, page: int, what: str, errors: dict[int, str], notify: Notify | None) -> list[RemoteSubmission]:
    """One page of the competition's submissions, newest first (page 1 lists one just made)."""
    batch = run(api.competition_submissions, competition, page_number=page, page_size=_PAGE_SIZE, what=what,
                errors=errors, notify=notify) or []
    return [_remote(s) for s in batch if s is not None]


def _remote(sub) -> RemoteSubmission:
    return RemoteSubmission(
        ref=sub.ref, date=_naive_utc(sub.date), file_name=Path(sub.file_name or "").name, description=sub.description or "",
        status=getattr(sub.status, "name", str(sub.status)).lower(), public_score=_score(sub.public_score),
        private_score=_score(sub.private_score), error=sub.error_description or "",
    )


def _naive_utc(date: datetime | None) -> datetime | None:
    if date is not None and date.tzinfo is not None:
        return date.astimezone(timezone.utc).replace(tzinfo=None)
    return date


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _score(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


# -- competitions ----------------------------------------------------------------------------

def competition_info(slug: str, notify: Notify | None = None) -> CompetitionInfo:
    """The title, evaluation metric and deadline of competition ``slug``, from Kaggle's competition list.

    The list is searched for the slug (``competitions_list(search=slug)``, every page) and the
    entry whose address ends in ``/<slug>`` is taken.

    Raises
    ------
    KaggletkError
        No credentials, Kaggle unreachable, or no listed competition has this slug (a private
        competition is listed only to those who joined it).
    """
    what = f"reading competition {slug}"
    api = connect(what, notify=notify)
    token: str | None = None
    for _ in range(_MAX_PAGES):
        response = run(api.competitions_list, search=slug, page_token=token, what=what, notify=notify)
        for entry in (response.competitions if response else None) or []:
            if _slug_of(entry) == slug:
                return CompetitionInfo(slug, entry.title or slug, entry.evaluation_metric or "", _naive_utc(entry.deadline))
        token = response.next_page_token if response else ""
        if not token:
            break
    raise KaggletkError(f"{what}: Kaggle lists no competition {slug!r}; check the slug (the last part of "
                        f"https://www.kaggle.com/competitions/<slug>), and join the competition if it is private")


def _slug_of(entry) -> str:
    """The slug of a listed competition: its ``ref`` is the slug or its address, depending on the server."""
    address = entry.ref or entry.url or ""
    return address.rstrip("/").rsplit("/", 1)[-1]
