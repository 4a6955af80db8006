"""Progress bars for `vgrad.check` and `vgrad.report`: rich's, in a terminal or a notebook.

In a terminal rich draws its bar itself. In Jupyter, rich's live display needs
ipywidgets; instead `NotebookProgress` renders the same rich bar to HTML and redraws one
output of the cell in place (IPython's ``display(..., display_id=True)`` and its
``update``), which every Jupyter front end (and nbclient) understands.
"""

from __future__ import annotations

import io
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

REDRAW_SECONDS = 0.25  # at most four redraws a second


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (rich's own test)."""
    return bool(Console().is_jupyter)


def columns(description: str) -> tuple[Any, ...]:
    return (
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )


def progress_bar(description: str) -> Progress:
    """A rich progress bar for this place: the cell's output in Jupyter, else stderr."""
    if in_notebook():
        return NotebookProgress(*columns(description))
    return Progress(*columns(description), console=Console(stderr=True), transient=True)


class NotebookProgress(Progress):
    """rich's progress bar drawn as HTML into one display of the running cell."""

    def __init__(self, *columns: Any) -> None:
        quiet = Console(file=io.StringIO(), force_jupyter=False)  # rich's own drawing
        super().__init__(
            *columns,
            console=quiet,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._handle: Any = None
        self._drawn = 0.0

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._draw()

    def advance(self, *args: Any, **kwargs: Any) -> None:
        super().advance(*args, **kwargs)
        self._draw()

    def stop(self) -> None:
        self._draw(force=True)
        super().stop()

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < REDRAW_SECONDS:
            return
        self._drawn = now
        console = Console(
            file=io.StringIO(), record=True, width=100, force_jupyter=False, force_terminal=True
        )
        console.print(self.get_renderable())
        text = console.export_text(clear=False).rstrip()
        html = console.export_html(
            inline_styles=True, code_format="<pre style='margin:0'>{code}</pre>"
        )
        bundle = {"text/plain": text, "text/html": html}
        from IPython.display import display

        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)
