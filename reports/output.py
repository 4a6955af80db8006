"""What the reports write: the HTML page shell, tables, and files replaced whole.

Every HTML page of `reports/` (the report, the gradebook, the mutation report) is one
self-contained file: `page` wraps a body in the same shell and base style (no scripts, no
external files), `table` and `td` make its tables.  `write_atomically` replaces a file
whole, so a reader, or a run that stops half way, sees the old file or the new one.
"""

from __future__ import annotations

import contextlib
import html
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# The rules every page shares; a page's own style comes after, and may override them.
BASE_STYLE = """
body { font-family: system-ui, sans-serif; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
"""


def page(title: str, style: str, body: Iterable[str]) -> str:
    """A self-contained HTML page titled `title` (text), styled by `BASE_STYLE` and then
    `style`, holding the HTML fragments of `body`, one a line."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{BASE_STYLE}{style}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def td(content: str, css: str = "", colspan: int = 1) -> str:
    """A table cell holding `content`, which is HTML already (escape text first)."""
    attributes = f' class="{css}"' if css else ""
    attributes += f' colspan="{colspan}"' if colspan != 1 else ""
    return f"<td{attributes}>{content}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """An HTML table: a header row of `headers` (text), then `rows`, each a sequence of
    cells made by `td`."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` whole by `text` (UTF-8): written to a temporary file beside it, then
    renamed over it; on any failure the old file stays and the temporary one is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is for reading
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
