"""Helpers shared by the command modules: consoles and argument types."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console

def _width(stream) -> int | None:
    """Terminal width on a terminal; a wide fixed width when output goes to a file or pipe."""
    if os.environ.get("COLUMNS"):
        return None
    return None if stream.isatty() else 160


out = Console(highlight=False, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, width=_width(sys.stderr))


def note(message: str) -> None:
    """A one-line notice on stderr (never part of a command's output)."""
    err.print(f"[dim]kaggletk:[/dim] {message}")


def add_command(sub, name: str, func, help: str, examples: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help, description=help, epilog=f"examples:\n{examples}")
    parser.set_defaults(func=func)
    return parser


def is_tty() -> bool:
    return sys.stderr.isatty()
