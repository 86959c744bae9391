"""Render the report's sections as one self-contained HTML page and as a Markdown summary.

The page has no scripts and no external resources: inline CSS, and ``<img>`` tags pointing at the
PNG files in ``figures/`` beside it (relative paths, so the folder can be moved or zipped).
"""

from __future__ import annotations

from html import escape

from kaggletk.report._blocks import Image, Section, Table, Text

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto;
       max-width: 1280px; padding: 0 20px 40px; color: #1b1b1b; line-height: 1.4; }
header { border-bottom: 2px solid #1f77b4; margin-bottom: 12px; }
h1 { font-size: 1.6em; margin: 16px 0 4px; } h2 { font-size: 1.3em; margin-top: 28px; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin: 20px 0 6px; color: #174a7c; }
nav a { margin-right: 14px; } .meta { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 8px 0 14px; font-size: 0.8em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
th { background: #f0f4f8; } td:first-child, th:first-child { text-align: left; }
caption { caption-side: bottom; text-align: left; color: #666; font-size: 0.85em; padding-top: 3px; }
figure { margin: 8px 0 16px; display: inline-block; vertical-align: top; max-width: 100%; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.85em; }
p.note { color: #7a5b00; background: #fff8e1; padding: 4px 8px; border-left: 3px solid #f0b400; }
.scroll { overflow-x: auto; }
"""


def render_html(title: str, meta: str, sections: list[Section]) -> str:
    nav = " ".join(f'<a href="#{escape(s.id)}">{escape(s.title.split(":")[0])}</a>' for s in sections)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<header><h1>{escape(title)}</h1><p class=\"meta\">{escape(meta)}</p><nav>{nav}</nav></header>"]
    for section in sections:
        parts.append(_section_html(section, 2))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _section_html(section: Section, level: int) -> str:
    parts = [f'<section id="{escape(section.id)}">', f"<h{level}>{escape(section.title)}</h{level}>"]
    parts += [_block_html(b) for b in section.blocks]
    parts += [_section_html(sub, min(level + 1, 4)) for sub in section.subsections]
    parts.append("</section>")
    return "\n".join(parts)


def _block_html(block) -> str:
    if isinstance(block, Text):
        return f'<p class="note">{escape(block.text)}</p>' if block.note else f"<p>{escape(block.text)}</p>"
    if isinstance(block, Image):
        return (f'<figure><img src="{escape(block.src)}" alt="{escape(block.title)}">'
                f"<figcaption>{escape(block.title)}</figcaption></figure>")
    if isinstance(block, Table):
        head = "".join(f"<th>{escape(c)}</th>" for c in block.columns)
        body = "\n".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in block.rows)
        caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
        return f'<div class="scroll"><table>{caption}<thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>'
    raise TypeError(f"unknown report block {type(block).__name__}")


def render_markdown(title: str, meta: str, sections: list[Section], html_name: str) -> str:
    """The summary: every section's text, tables (except per-class details) and figure links."""
    lines = [f"# {title}", "", meta, "", f"Full report with all tables: [{html_name}]({html_name})", ""]
    for section in sections:
        lines += _section_markdown(section, 2)
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section_markdown(section: Section, level: int) -> list[str]:
    lines = ["#" * level + " " + section.title, ""]
    for block in section.blocks:
        if isinstance(block, Text):
            lines += [("> " if block.note else "") + _md(block.text), ""]
        elif isinstance(block, Image):
            lines += [f"![{_md(block.title)}]({block.src})", ""]
        elif isinstance(block, Table) and not block.detail:
            lines.append("| " + " | ".join(_md(c) for c in block.columns) + " |")
            lines.append("|" + "|".join("---" for _ in block.columns) + "|")
            lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in block.rows]
            lines += [""] + ([f"*{_md(block.caption)}*", ""] if block.caption else [])
    for sub in section.subsections:
        lines += _section_markdown(sub, min(level + 1, 4))
    return lines
