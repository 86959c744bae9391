"""Submitting to Kaggle: validate a file against the full test set, send it, and list submissions beside their CV.

A Kaggle submission is matched to a local file by its file name: ``submissions/<comp>/<name>.csv``
was written from the run or blend ``<name>`` in the OOF store, whose out-of-fold score is the CV
shown next to Kaggle's public and private scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from kaggletk.callbacks import Callback, CallbackList
from kaggletk.competition import Competition, load_competition
from kaggletk.errors import KaggletkError
from kaggletk.kaggle import RemoteSubmission, list_submissions as list_remote, submit_file, wait_for_submission
from kaggletk.workspace import Workspace, workspace


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
    reply_lost : bool, Kaggle's answer was lost and its list of submissions showed this one
    status : str, after ``wait_for_score``: "complete", "error", "pending" (time ran out) or "not listed"; else ''
    public_score : float or None, after ``wait_for_score``: Kaggle's public score, when scored and shown
    score_error : str, after ``wait_for_score``: Kaggle's reason when it could not score the file
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
    reply_lost: bool = False
    status: str = ""
    public_score: float | None = None
    score_error: str = ""

    def wait_for_score(self, timeout: float = 900.0, poll_interval: float = 60.0, *,
                       callbacks: Sequence[Callback] = ()) -> SubmitResult:
        """Poll Kaggle until it has scored this submission, or ``timeout`` seconds have passed.

        Parameters
        ----------
        timeout : float
            Seconds to wait at most.
        poll_interval : float
            Longest pause between two polls (they start 5 s apart and grow).
        callbacks : sequence of Callback
            ``on_note`` receives each change of status.

        Returns
        -------
        SubmitResult
            This result with ``status``, ``public_score`` and ``score_error`` as Kaggle last listed them.

        Raises
        ------
        KaggletkError
            Nothing to wait for (a dry run, or Kaggle gave no submission id), or Kaggle unreachable after retries.
        """
        if self.dry_run or self.ref is None:
            why = "a dry run sends nothing" if self.dry_run else "Kaggle gave none"
            raise KaggletkError(f"{self.file}: no submission id to wait for ({why}); see the scores with `kaggletk submissions`")
        listed = wait_for_submission(self.competition, self.ref, timeout=timeout, poll_interval=poll_interval,
                                     notify=CallbackList(callbacks).on_note)
        if listed is None:
            return replace(self, status="not listed")
        return replace(self, status=listed.status, public_score=listed.public_score, score_error=listed.error)


@dataclass(frozen=True)
class KaggleSubmission(RemoteSubmission):
    """One submission on Kaggle, with the local file, run and CV it came from when found.

    Attributes (beside Kaggle's, see ``RemoteSubmission``)
    ----------
    local_file : Path or None, ``submissions/<comp>/<file_name>`` when it exists
    run : str or None, the run or blend named like the file
    cv : float or None, that run's out-of-fold score in the competition's metric
    changed_since : bool, the local file was rewritten after this submission, so CV may be of another file
    """

    local_file: Path | None = None
    run: str | None = None
    cv: float | None = None
    changed_since: bool = False


@dataclass(frozen=True)
class SubmissionList:
    """The submissions of one Kaggle competition, newest first, and the CV metric's name."""

    competition: str
    metric: str
    submissions: list[KaggleSubmission]


def submit(comp: str, path: Path, message: str, *, competition: str | None = None, dry_run: bool = False,
           ws: Workspace | None = None, callbacks: Sequence[Callback] = ()) -> SubmitResult:
    """Validate a submission file, then submit it to the competition on Kaggle.

    The file gets the checks of ``kaggletk validate`` against the full data's test set (Kaggle
    scores every test row, so a file made on the bundled sample is refused here rather than by
    Kaggle, after using one of the day's submissions). The day's remaining submissions are told
    through ``on_note`` before the upload, and the submission is created at most once, even when
    Kaggle's answer is lost (see ``kaggletk.kaggle.submit_file``). ``SubmitResult.wait_for_score``
    then waits for Kaggle's public score.

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
        no credentials, no submissions left today, Kaggle refusing the submission, the upload
        failing after retries, or a create that Kaggle neither confirmed nor lists.
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
    response = submit_file(path, message, slug, origin=definition.slug_origin(competition), notify=CallbackList(callbacks).on_note)
    return replace(result, kaggle_message=response.message, ref=response.ref, remaining_today=response.remaining_today,
                   reply_lost=response.reply_lost)


def list_submissions(comp: str, *, competition: str | None = None, ws: Workspace | None = None,
                     callbacks: Sequence[Callback] = ()) -> SubmissionList:
    """The Kaggle submissions of a competition with their scores, each matched to its local file and CV.

    Raises
    ------
    KaggletkError
        No slug configured, no credentials, Kaggle refusing or unreachable after retries.
    """
    ws = ws or workspace()
    definition = load_competition(comp, ws)
    slug = _require_slug(definition, competition)
    found = list_remote(slug, origin=definition.slug_origin(competition), notify=CallbackList(callbacks).on_note)
    return SubmissionList(slug, definition.metric, [_matched(s, definition, ws) for s in found])


def _require_slug(comp: Competition, override: str | None) -> str:
    slug = comp.submission_slug(override)
    if not slug:
        raise KaggletkError(
            f"no Kaggle competition set for {comp.name}: set kaggle_competition=\"<slug>\" in {comp.definition}, "
            f"or pass -c/--competition SLUG (or set KAGGLETK_COMPETITION); the slug is the last part of the "
            f"competition's address, https://www.kaggle.com/competitions/<slug>"
        )
    return slug


def _validate_for_kaggle(comp: str, path: Path, ws: Workspace) -> int:
    from kaggletk.data import load_dataset
    from kaggletk.submission._files import read_submission

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

    try:
        found = load_run(comp.name, Path(file_name).stem, ws)
    except KaggletkError:
        return None, None
    cv = found.manifest.cv
    return found.name, (cv.oof.get(comp.metric) if cv else None)


def _matched(sub: RemoteSubmission, comp: Competition, ws: Workspace) -> KaggleSubmission:
    local = ws.comp_submissions_dir(comp.name) / sub.file_name if sub.file_name else None
    local = local if local is not None and local.is_file() else None
    run_name, cv = _run_cv(comp, sub.file_name, ws) if sub.file_name else (None, None)
    changed = bool(local and sub.date
                   and datetime.fromtimestamp(local.stat().st_mtime, timezone.utc).replace(tzinfo=None) > sub.date)
    return KaggleSubmission(**vars(sub), local_file=local, run=run_name, cv=cv, changed_since=changed)
