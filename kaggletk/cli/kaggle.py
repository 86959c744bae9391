"""Commands that talk to Kaggle: ``submit`` and ``submissions`` (``fetch`` lives in ``data``)."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from kaggletk.cli._common import Notes, add_command, out

_SLUG_HELP = "Kaggle competition slug (default: $KAGGLETK_COMPETITION, else kaggle_competition in competition.py)"


def register(sub) -> None:
    p = add_command(
        sub, "submit", _submit, "validate a submission file, then submit it to the competition on Kaggle",
        "  kaggletk submit sign_mnist submissions/sign_mnist/blend-auto.csv -m 'hill blend, CV 0.9991' -c my-course-slug\n"
        "  kaggletk submit fashion_mnist submissions/fashion_mnist/cnn-image.csv -m 'cnn' --dry-run\n"
        "  export KAGGLETK_COMPETITION=my-course-slug   # or set kaggle_competition in competitions/<name>/competition.py\n"
        "credentials: KAGGLE_USERNAME and KAGGLE_KEY, KAGGLE_API_TOKEN, or ~/.kaggle/kaggle.json (chmod 600)",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("file", type=Path, metavar="FILE")
    p.add_argument("-m", "--message", required=True, metavar="MESSAGE", help="submission description shown on Kaggle")
    p.add_argument("-c", "--competition", dest="slug", metavar="SLUG", help=_SLUG_HELP)
    p.add_argument("--dry-run", action="store_true", help="validate and show what would be sent; do not contact Kaggle")

    p = add_command(
        sub, "submissions", _submissions, "list your Kaggle submissions with public/private scores beside the CV of their run",
        "  kaggletk submissions sign_mnist -c my-course-slug\n"
        "  kaggletk submissions fashion_mnist             # slug from $KAGGLETK_COMPETITION or competition.py",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("-c", "--competition", dest="slug", metavar="SLUG", help=_SLUG_HELP)


def _fmt(value, spec=".4f") -> str:
    return "-" if value is None else format(value, spec)


def _submit(args) -> int:
    from kaggletk.submission import submit

    r = submit(args.competition, args.file, args.message, competition=args.slug, dry_run=args.dry_run, callbacks=[Notes()])
    origin = f", from run {r.run} (CV {_fmt(r.cv)})" if r.run else ""
    if r.dry_run:
        out.print(escape(f"dry run: {r.file} is valid ({r.rows} rows{origin}); would submit it to Kaggle competition "
                         f"{r.competition} with message {r.message!r}. Nothing was sent."))
        return 0
    out.print(escape(f"submitted {r.file} ({r.rows} rows{origin}) to {r.competition}: {r.message!r}"))
    out.print(escape(f"Kaggle: {r.kaggle_message}"))
    if r.remaining_today is not None:
        out.print(f"{r.remaining_today} submissions left today")
    out.print(escape(f"scores: kaggletk submissions {args.competition} -c {r.competition}"))
    return 0


def _submissions(args) -> int:
    from kaggletk.submission import list_submissions

    result = list_submissions(args.competition, competition=args.slug, callbacks=[Notes()])
    if not result.submissions:
        out.print(escape(f"{result.competition}: no submissions yet; submit with "
                         f"`kaggletk submit {args.competition} FILE -m MESSAGE -c {result.competition}`"))
        return 0
    metric = result.metric.replace("_", "-")
    table = Table("date (UTC)", "file", "description", "status", "public", "private", f"CV (OOF {metric})", "public - CV",
                  title=escape(f"{result.competition}: Kaggle submissions, newest first, beside the CV of the run each file "
                               f"came from"))
    changed = False
    for s in result.submissions:
        remote = s
        status = remote.status + (f": {remote.error}" if remote.error else "")
        cv = _fmt(s.cv)
        if s.changed_since and s.cv is not None:
            cv += " *"
            changed = True
        gap = _fmt(remote.public_score - s.cv, "+.4f") if remote.public_score is not None and s.cv is not None else "-"
        file_name = remote.file_name + ("" if s.local_file else " (not local)")
        table.add_row(remote.date.strftime("%Y-%m-%d %H:%M") if remote.date else "-", escape(file_name),
                      escape(remote.description), escape(status), _fmt(remote.public_score, ".5f"),
                      _fmt(remote.private_score, ".5f"), cv, gap)
    out.print(table)
    if changed:
        out.print("* the local file was rewritten after this submission: its run's CV may not be that of the file submitted")
    return 0
