"""The report as data: sections of text, tables and images, rendered to HTML and Markdown alike."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Text:
    """A paragraph; ``note`` marks a one-line notice (a skipped item, an empty section)."""

    text: str
    note: bool = False


@dataclass
class Table:
    """A table of already formatted cells; ``detail`` tables are left out of the Markdown summary."""

    columns: list[str]
    rows: list[list[str]]
    caption: str = ""
    detail: bool = False


@dataclass
class Image:
    """A PNG figure, ``src`` relative to the report folder (``figures/<name>.png``)."""

    src: str
    title: str


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def add(self, *blocks) -> Section:
        self.blocks.extend(blocks)
        return self

    def images(self) -> list[Image]:
        found = [b for b in self.blocks if isinstance(b, Image)]
        for sub in self.subsections:
            found.extend(sub.images())
        return found
