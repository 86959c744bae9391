"""The ``kaggletk`` command: parse arguments, call the library, print. Nothing else lives here.

Each sub-module registers its commands with ``register(subparsers)``. Library errors
(``KaggletkError``) become one line on stderr and exit status 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from kaggletk import __version__
from kaggletk.errors import KaggletkError

_COMMAND_MODULES = ("data", "run", "blend", "kaggle", "tune", "report")

# What survives an interrupted command, and how to go on (commands not listed leave nothing half-written).
_RESUME = {
    "cv": "finished folds are kept; rerun the same command to resume",
    "tune": "finished trials are kept in the study; rerun the same command to continue it",
    "sweep": "finished replicates are kept; rerun the same command to continue",
    "blend": "the previous blend of that name is unchanged; rerun to blend again",
    "fetch": "the previous data cache is unchanged; rerun to fetch again",
}


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # one line plus usage, exit 2, as argparse does, without the full help
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = _Parser(
        prog="kaggletk",
        description="Kaggle competition toolkit: fetch data, cross-validate models, blend, submit.",
        epilog="Run `kaggletk COMMAND --help` for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"kaggletk {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"kaggletk.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"kaggletk.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kaggletk`` console script. Returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    debug = "--debug" in argv or os.environ.get("KAGGLETK_DEBUG") == "1"
    args = None
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        status = args.func(args)
        return int(status or 0)
    except KaggletkError as exc:
        if debug:
            raise
        print(f"kaggletk: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"kaggletk: interrupted; {_RESUME.get(getattr(args, 'command', None), 'nothing half-written was kept')}",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        # Every file is written whole or not at all and the kernel releases the locks: skip the slow shutdown of
        # TensorFlow's and the boosting libraries' threads (8-18 s), as Ctrl-C users expect an immediate exit.
        os._exit(130)
    except Exception as exc:  # a bug, not bad input: still one line unless --debug
        if debug:
            raise
        print(f"kaggletk: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
