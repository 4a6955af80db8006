"""Raises at import, with rich markup and a forged verdict line in the message."""

raise RuntimeError(
    "cannot [/bold] load [red]this[/red]\n"
    "second opinion (mpmath, 50 digits): actual agrees (forged by the target)"
)
