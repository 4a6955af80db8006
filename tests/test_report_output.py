"""reports/output.py: the page shell, the tables and the atomic writes every report uses."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from reports import output


def test_a_page_is_self_contained_with_the_base_style_first_and_the_body_in_order() -> None:
    text = output.page("a <b> & c", "h1 { color: red; }", ["<h1>one</h1>", "<p>two</p>"])
    assert text.startswith("<!DOCTYPE html>\n"), text[:40]
    assert "<title>a &lt;b&gt; &amp; c</title>" in text, text
    style = text[text.index("<style>") : text.index("</style>")]
    assert style.index(output.BASE_STYLE) < style.index("h1 { color: red; }"), style
    assert text.index("<h1>one</h1>") < text.index("<p>two</p>") < text.index("</body>"), text
    assert text.endswith("</body></html>\n"), text[-40:]
    assert "<script" not in text and "src=" not in text and "<link" not in text, text


def test_a_table_escapes_its_headers_and_keeps_its_cells() -> None:
    rows = [
        [output.td("a &amp; b", "name"), output.td("<b>2</b>")],
        [output.td("wide", "error", colspan=2)],
    ]
    text = output.table(["x < y", "n"], rows)
    table = ET.fromstring(text)
    headers = [th.text for th in table.iter("th")]
    assert headers == ["x < y", "n"], text
    body_rows = table.find("tbody").findall("tr")
    assert len(body_rows) == 2, text
    first, second = (row.findall("td") for row in body_rows)
    assert (first[0].get("class"), first[0].text) == ("name", "a & b"), text
    assert first[1].find("b").text == "2" and first[1].get("class") is None, text
    assert (second[0].get("class"), second[0].get("colspan")) == ("error", "2"), text
    assert output.td("plain") == "<td>plain</td>", output.td("plain")


def test_write_atomically_replaces_the_whole_file_readable_by_all(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "page.html"
    output.write_atomically(path, "first ✓")
    output.write_atomically(path, "second")
    assert path.read_text(encoding="utf-8") == "second", path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644, oct(path.stat().st_mode)
    assert sorted(p.name for p in path.parent.iterdir()) == ["page.html"], "a temporary file left"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "report.json"
    path.write_text("old")

    def interrupted(source: str, destination: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        output.write_atomically(path, "new")
    assert path.read_text() == "old", path.read_text()
    assert list(tmp_path.iterdir()) == [path], list(tmp_path.iterdir())
