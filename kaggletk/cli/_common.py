"""Helpers shared by the command modules: consoles and argument types."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console
from rich.markup import escape

from kaggletk.callbacks import Callback

def _width(stream) -> int | None:
    """Terminal width on a terminal; a wide fixed width when output goes to a file or pipe."""
    if os.environ.get("COLUMNS"):
        return None
    return None if stream.isatty() else 160


# soft_wrap: a line of text (a message, a path) is never broken by kaggletk, only by the terminal; tables fit the width.
out = Console(highlight=False, width=_width(sys.stdout), soft_wrap=True)
err = Console(stderr=True, highlight=False, width=_width(sys.stderr), soft_wrap=True)


_noted: set[str] = set()


def note(message: str) -> None:
    """A one-line notice on stderr (never part of a command's output), each message once per command."""
    if message in _noted:
        return
    _noted.add(message)
    err.print(f"[dim]kaggletk:[/dim] {escape(message)}")


def add_command(sub, name: str, func, help: str, examples: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help, description=help, epilog=f"examples:\n{examples}")
    parser.set_defaults(func=func)
    return parser


def is_tty() -> bool:
    return sys.stderr.isatty()


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device`` and ``--precision``, the flags of every command that trains."""
    from kaggletk.models._device import DEVICES, PRECISIONS

    parser.add_argument("--device", default="auto", choices=DEVICES,
                        help="where models train: auto (a GPU when one is visible), cpu, or gpu (fails without one)")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="compute precision of the neural networks: auto (default: bfloat16 on CPUs with AVX-512-BF16 "
                             "or AMX, float16 mixed precision on GPUs with tensor cores, float32 otherwise), float32, "
                             "bfloat16, mixed_float16")


def add_data(parser: argparse.ArgumentParser, help: str = "full data, the bundled sample, or auto (full when available)") -> None:
    from kaggletk.data import DATA_CHOICES

    parser.add_argument("--data", default="auto", choices=DATA_CHOICES, help=help)


def parse_json_object(text: str, flag: str) -> dict:
    """A JSON object given on the command line, or a one-line error naming the flag."""
    import json

    from kaggletk.errors import KaggletkError

    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise KaggletkError(f"{flag}: not valid JSON ({exc}); pass e.g. '{{\"n_components\": 40}}'") from exc
    if not isinstance(value, dict):
        raise KaggletkError(f"{flag}: must be a JSON object, e.g. '{{\"n_components\": 40}}'")
    return value



class Notes(Callback):
    """Prints the library's notices (``on_note``) as one line each on stderr."""

    def on_note(self, message: str) -> None:
        note(message)


def add_output(parser: argparse.ArgumentParser) -> None:
    """``--wide``, ``--csv``, ``--json``: the output options of every command that prints a table."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--wide", action="store_true", help="every column, however wide the terminal")
    group.add_argument("--csv", action="store_true", help="CSV on stdout (every column, a header line), for scripts")
    group.add_argument("--json", action="store_true", help="a JSON list of objects on stdout, for scripts")


def emit_records(args, cols, records) -> bool:
    """Print ``records`` (dicts) as CSV or JSON when asked; True when done (nothing else goes to stdout)."""
    import sys

    from kaggletk.cli._tables import as_csv, as_json

    if getattr(args, "csv", False):
        sys.stdout.write(as_csv(cols, records))
        return True
    if getattr(args, "json", False):
        sys.stdout.write(as_json(records))
        return True
    return False
