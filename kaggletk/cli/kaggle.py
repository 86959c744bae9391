"""Commands that talk to Kaggle: ``submit`` and ``submissions`` (``fetch`` lives in ``data``), and the
download progress bar ``fetch`` shows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from kaggletk.callbacks import Callback
from kaggletk.cli._tables import Col, fitted_table, print_table
from kaggletk.cli._common import Notes, add_command, add_output, emit_records, err, out
from kaggletk.errors import KaggletkError

if TYPE_CHECKING:
    from rich.console import Console

    from kaggletk.submission import KaggleSubmission, SubmitResult

_SLUG_HELP = "Kaggle competition slug (default: $KAGGLETK_COMPETITION, else kaggle_competition in competition.py)"
_MIN_POLL_SECONDS = 5.0  # as the kaggle CLI: polling faster only loads Kaggle's servers
_RECORD_FIELDS = ("ref", "fileName", "date", "description", "status", "publicScore", "privateScore", "errorDescription",
                  "run", "cv", "cvMetric", "changedSince")


def register(sub) -> None:
    p = add_command(
        sub, "submit", _submit, "validate a submission file, then submit it to the competition on Kaggle",
        "  kaggletk submit sign_mnist submissions/sign_mnist/blend-auto.csv -m 'hill blend, CV 0.9991' -c my-course-slug\n"
        "  kaggletk submit sign_mnist -f submissions/sign_mnist/blend-auto.csv -m 'hill blend' --wait   # as `kaggle competitions submit`\n"
        "  kaggletk submit fashion_mnist submissions/fashion_mnist/cnn-image.csv -m 'cnn' --dry-run\n"
        "  export KAGGLETK_COMPETITION=my-course-slug   # or set kaggle_competition in competitions/<name>/competition.py\n"
        "credentials: KAGGLE_USERNAME and KAGGLE_KEY, KAGGLE_API_TOKEN, or ~/.kaggle/kaggle.json (chmod 600)\n"
        "time limits: KAGGLETK_CONNECT_TIMEOUT_SECONDS (10), KAGGLETK_TIMEOUT_SECONDS (60 per call), "
        "KAGGLETK_TRANSFER_TIMEOUT_SECONDS (300 per piece of an upload or download)",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("file", type=Path, nargs="?", metavar="FILE", help="the CSV to submit (or -f FILE)")
    p.add_argument("-f", "--file", dest="file_option", type=Path, metavar="FILE",
                   help="the CSV to submit, as in `kaggle competitions submit -f FILE`")
    p.add_argument("-m", "--message", required=True, metavar="MESSAGE", help="submission description shown on Kaggle")
    p.add_argument("-c", "--competition", dest="slug", metavar="SLUG", help=_SLUG_HELP)
    p.add_argument("--dry-run", action="store_true", help="validate and show what would be sent; do not contact Kaggle")
    p.add_argument("--wait", action="store_true",
                   help="after submitting, wait until Kaggle has scored the file and print its public score beside the CV")
    p.add_argument("--wait-timeout", type=float, default=900.0, metavar="SECONDS",
                   help="longest wait with --wait (default: 900, 15 minutes)")
    p.add_argument("--poll-interval", type=float, default=60.0, metavar="SECONDS",
                   help=f"longest pause between polls with --wait (default: 60, minimum: {_MIN_POLL_SECONDS:g}); polls start "
                        f"{_MIN_POLL_SECONDS:g}s apart and grow")

    p = add_command(
        sub, "submissions", _submissions, "list your Kaggle submissions with public/private scores beside the CV of their run",
        "  kaggletk submissions sign_mnist -c my-course-slug\n"
        "  kaggletk submissions fashion_mnist             # slug from $KAGGLETK_COMPETITION or competition.py\n"
        "  kaggletk submissions sign_mnist --csv > submissions.csv",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("-c", "--competition", dest="slug", metavar="SLUG", help=_SLUG_HELP)
    add_output(p)


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _submission_file(args: argparse.Namespace) -> Path:
    """The file to submit: FILE or -f FILE (the kaggle CLI's way), not two different ones."""
    if args.file and args.file_option and args.file != args.file_option:
        raise KaggletkError(f"FILE {args.file} and -f/--file {args.file_option} name two files; give one")
    path = args.file or args.file_option
    if path is None:
        raise KaggletkError(f"no file to submit; give it as FILE or -f FILE, e.g. `kaggletk submit {args.competition} "
                            f"-f submissions/{args.competition}/<run>.csv -m MESSAGE`")
    return path


def _check_wait(args: argparse.Namespace) -> None:
    if args.wait_timeout <= 0:
        raise KaggletkError(f"--wait-timeout {args.wait_timeout:g}: use a number of seconds above 0, e.g. 900")
    if args.poll_interval < _MIN_POLL_SECONDS:
        raise KaggletkError(f"--poll-interval {args.poll_interval:g}: use at least {_MIN_POLL_SECONDS:g} seconds, "
                            f"so as not to overload Kaggle's servers")


def _submit(args) -> int:
    from kaggletk.submission import submit

    path = _submission_file(args)
    if args.wait:
        _check_wait(args)
    r = submit(args.competition, path, args.message, competition=args.slug, dry_run=args.dry_run, callbacks=[Notes()])
    origin = f", from run {r.run} (CV {_fmt(r.cv)})" if r.run else ""
    if r.dry_run:
        out.print(escape(f"dry run: {r.file} is valid ({r.rows} rows{origin}); would submit it to Kaggle competition "
                         f"{r.competition} with message {r.message!r}. Nothing was sent."))
        return 0
    out.print(escape(f"submitted {r.file} ({r.rows} rows{origin}) to {r.competition}: {r.message!r}"))
    out.print(escape(f"Kaggle: {r.kaggle_message}"))
    if r.ref is not None:
        out.print(f"submission ref {r.ref}")
    if r.remaining_today is not None:
        out.print(f"{r.remaining_today} submissions left today")
    scores = f"kaggletk submissions {args.competition} -c {r.competition}"
    if args.wait:
        _print_score(r.wait_for_score(args.wait_timeout, args.poll_interval, callbacks=[Notes()]), args.wait_timeout, scores)
    else:
        out.print(escape(f"scores: {scores}"))
    return 0


def _print_score(scored: SubmitResult, timeout: float, scores: str) -> None:
    """The public score beside the CV, or one line saying why there is none (Kaggle's error, the time ran out)."""
    if scored.status == "error":
        raise KaggletkError(f"Kaggle could not score {scored.file.name} (submission {scored.ref}): "
                            f"{scored.score_error or 'no reason given'}")
    if scored.status != "complete":
        raise KaggletkError(f"{scored.file.name} (submission {scored.ref}) is still {scored.status} on Kaggle after "
                            f"{timeout:g}s; it was submitted: see its score later with `{scores}`")
    gap = (f", public - CV {scored.public_score - scored.cv:+.4f}"
           if scored.public_score is not None and scored.cv is not None else "")
    out.print(escape(f"public score {_fmt(scored.public_score, '.5f')} beside CV {_fmt(scored.cv)}{gap}"))


def _submissions(args) -> int:
    from kaggletk.submission import list_submissions

    result = list_submissions(args.competition, competition=args.slug, callbacks=[Notes()])
    if emit_records(args, [Col(field) for field in _RECORD_FIELDS], [_record(s, result.metric) for s in result.submissions]):
        return 0
    if not result.submissions:
        out.print(escape(f"{result.competition}: no submissions yet; submit with "
                         f"`kaggletk submit {args.competition} FILE -m MESSAGE -c {result.competition}`"))
        return 0
    metric = result.metric.replace("_", "-")
    cols = [Col("date (UTC)", 1, "left"), Col("file", 0, "left"), Col("description", 3, "left"), Col("status", 1, "left"),
            Col("public", 0), Col("private", 2), Col(f"CV (OOF {metric})", 0), Col("public - CV", 2)]
    body = []
    changed = False
    for s in result.submissions:
        status = s.status + (f": {s.error}" if s.error else "")
        cv = _fmt(s.cv)
        if s.changed_since and s.cv is not None:
            cv += " *"
            changed = True
        gap = _fmt(s.public_score - s.cv, "+.4f") if s.public_score is not None and s.cv is not None else "-"
        file_name = s.file_name + ("" if s.local_file else " (not local)")
        body.append([s.date.strftime("%Y-%m-%d %H:%M") if s.date else "-", file_name, s.description, status,
                     _fmt(s.public_score, ".5f"), _fmt(s.private_score, ".5f"), cv, gap])
    print_table(out, fitted_table(cols, body, width=out.width, wide=args.wide,
                           title=f"{result.competition}: Kaggle submissions, newest first, beside the CV of the run each "
                                 "file came from"), args.wide)
    if changed:
        out.print("* the local file was rewritten after this submission: its run's CV may not be that of the file submitted")
    return 0


def _record(s: KaggleSubmission, metric: str) -> dict:
    """One submission for scripts: the kaggle CLI's field names, then kaggletk's (run, CV)."""
    return {"ref": s.ref, "fileName": s.file_name, "date": s.date.isoformat() + "Z" if s.date else None,
            "description": s.description, "status": s.status, "publicScore": s.public_score,
            "privateScore": s.private_score, "errorDescription": s.error, "run": s.run, "cv": s.cv, "cvMetric": metric,
            "changedSince": s.changed_since}


class DownloadProgress(Callback):
    """A progress bar with bytes on stderr for Kaggle downloads (``on_download``), shown on a terminal.

    Use it as a context manager around the download so that the bar is closed even when the
    download fails: ``with DownloadProgress() as bar: fetch(name, callbacks=[Notes(), bar])``.

    Parameters
    ----------
    enabled : bool or None
        Draw the bar; None (default): only when stderr is a terminal.
    console : rich Console or None
        Where to draw (default: the CLI's stderr console).
    """

    def __init__(self, enabled: bool | None = None, console: Console | None = None):
        self.console = console or err
        self.enabled = self.console.is_terminal if enabled is None else enabled
        self._bar = None
        self._task = None
        self._done = 0

    def on_download(self, name: str, done: int, total: int | None) -> None:
        """``done`` of ``total`` bytes of ``name`` arrived (``total`` None when Kaggle did not say)."""
        if not self.enabled:
            return
        if self._bar is None:
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                 console=self.console)
            self._bar.start()
        if self._task is None or done < self._done:  # a new file, or a retry starting again
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(escape(name), total=total)
        self._done = done
        self._bar.update(self._task, completed=done, total=total)
        if total is not None and done >= total:
            self.close()

    def close(self) -> None:
        """Stop drawing (the finished bar stays on screen)."""
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._task = None
        self._done = 0

    def __enter__(self) -> DownloadProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
