"""The ``report`` command: an HTML page and a Markdown summary of a competition's runs."""

from __future__ import annotations

from pathlib import Path

from kaggletk.cli._common import add_command, add_data, note, out


def register(sub) -> None:
    p = add_command(
        sub, "report", _report,
        "write an HTML report (figures beside it) and a Markdown summary of every run, blend, sweep and tuning study",
        "  kaggletk report fashion_mnist                       # -> oof/fashion_mnist/report/report.html\n"
        "  kaggletk report sign_mnist --runs cnn-image,blend-auto --out /tmp/sign-report\n"
        "  kaggletk report fashion_mnist --data sample         # the runs made on the bundled sample",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--runs", metavar="R1,R2,...", help="only these runs and blends (default: all on the chosen data)")
    p.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: oof/<comp>/report/)")
    add_data(p, "which data's runs to report; auto: full when cached and used by a run, else sample")


def _report(args) -> int:
    from kaggletk.competition import load_competition
    from kaggletk.store import list_runs

    load_competition(args.competition)  # an unknown name fails here, with the known ones listed
    names = [r.strip() for r in args.runs.split(",") if r.strip()] if args.runs else None
    if not names and not list_runs(args.competition):
        out.print(f"no runs for {args.competition} yet; start one with `kaggletk cv {args.competition} --model xgb`, "
                  f"then rerun `kaggletk report {args.competition}`")
        return 0
    import matplotlib

    matplotlib.use("Agg")  # this process only draws files; Optuna's plots go through pyplot
    from kaggletk.report import build_report

    result = build_report(args.competition, names, args.out, args.data)
    for message in result.notes:
        note(message)
    out.print(f"report: {result.html}  ({len(result.runs)} runs on the {result.variant} data, "
              f"{len(result.figures)} figures, {result.seconds:.1f}s)")
    out.print(f"summary: {result.markdown}")
    return 0
