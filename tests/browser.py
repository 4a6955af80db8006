"""Render a page in Debian's headless chromium: a screenshot, and the console's messages."""

from __future__ import annotations

import subprocess
from pathlib import Path


def assert_renders_without_console_errors(page: Path, folder: Path, height: int) -> None:
    """`page` renders to a non-trivial screenshot and logs nothing to the console."""
    shot = folder / f"{page.stem}.png"
    run = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={folder / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size=1280,{height}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 50_000, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
