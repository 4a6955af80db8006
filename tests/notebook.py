"""Run notebook cells in a real Jupyter kernel (nbclient + ipykernel), for the tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbclient

ROOT = Path(__file__).resolve().parent.parent


def execute(notebook: Any, folder: Path, timeout: int = 600) -> Any:
    """Execute `notebook` (an nbformat notebook) in a fresh python3 kernel whose current
    folder is `folder` and which imports this checkout; return it with its outputs."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env={**os.environ, "PYTHONPATH": path})
    return notebook


def text_of(cell: Any) -> str:
    """Everything a code cell showed as plain text: streams, displays and its result."""
    parts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif output["output_type"] in ("display_data", "execute_result"):
            parts.append(output["data"].get("text/plain", "") + "\n")
    return "".join(parts)


def data_of(cell: Any, mime: str) -> str:
    """The `mime` representation of a cell's result (its execute_result)."""
    for output in cell.get("outputs", []):
        if output["output_type"] == "execute_result":
            return output["data"].get(mime, "")
    return ""
