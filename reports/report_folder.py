"""What a report folder may hold: `vgrad report` replaces a folder of these files only.

Apart from `reports.report_files` (which imports JAX and matplotlib), so that the
command line checks `--out` before it starts anything heavy.
"""

from __future__ import annotations

from pathlib import Path

REPORT_FILES = ("report.json", "report.html", "summary.md")
_OLD_STAGING = ".writing-"  # the in-folder staging of earlier versions: dropped with the old set


def foreign_entries(out: Path) -> list[str]:
    """What folder `out` holds besides a report: replacing the folder would delete it."""
    if not Path(out).is_dir():
        return []
    return sorted(
        entry.name
        for entry in Path(out).iterdir()
        if entry.name not in REPORT_FILES and not entry.name.startswith(_OLD_STAGING)
    )
