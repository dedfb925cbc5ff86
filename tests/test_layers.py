"""Layers point one way: the checked modules import only what docs/architecture.md's table allows, in no cycle.

The checker itself is tested on small synthetic packages written here, so a broken checker
cannot pass the real tree by seeing nothing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.layering import DOC, PACKAGES, ROOT, LayerTable, TableError, check, import_graph, load_table, parse_table


def test_the_tree_keeps_to_the_layer_table():
    report = check(load_table(), import_graph())
    assert report.ok, "\n" + report.render()


def test_no_module_of_the_tree_is_in_an_import_cycle_or_crosses_a_layer():
    # beyond the checked list: every module of harness, agents and sandboxes
    report = check(load_table(), import_graph(), every_module=True)
    assert report.ok, "\n" + report.render()


def test_the_docs_table_is_read_and_names_what_it_checks():
    table = load_table()
    assert len(table.layers) >= 10
    modules = import_graph(ROOT, PACKAGES)
    for pattern in table.checked:  # a typo here would quietly check nothing
        assert any(table.is_checked(m) and pattern_matches(pattern, m) for m in modules), pattern
    for module in modules:
        if table.is_checked(module):
            assert table.layer_of(module) is not None, module
    assert DOC.name == "architecture.md"


def pattern_matches(pattern: str, module: str) -> bool:
    return LayerTable((), (pattern,)).is_checked(module)


# ---------------------------------------------------------------- the checker on synthetic packages


TABLE = """\
# a page

## Layers

| layer | modules | may import |
|---|---|---|
| low | `pkg`, `pkg.low`, `pkg.util.*` | — |
| high | `pkg.high`, `pkg.twin_a`, `pkg.twin_b` | low |
| top | `pkg.top` | * |

Checked by `tests/test_layers.py`: `pkg.*`,
`pkg.low`.

`not.checked`: a later paragraph.

## Next section

| layer | modules | may import |
|---|---|---|
| ignored | `pkg.high` | * |
"""


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


CLEAN = {
    "pkg/__init__.py": "",
    "pkg/low.py": "import os\nfrom pkg.util.text import shout\n",
    "pkg/util/__init__.py": "",
    "pkg/util/text.py": "def shout(s):\n    return s.upper()\n",
    "pkg/high.py": "from pkg import low\nfrom . import low as again\n",
    "pkg/twin_a.py": "import pkg.low\n",
    "pkg/twin_b.py": "from pkg.twin_a import *\n",
    "pkg/top.py": "import pkg.high, pkg.twin_b\n",
}


def checked(tmp_path: Path, changes: dict[str, str]):
    root = write_package(tmp_path, CLEAN | changes)
    return check(parse_table(TABLE), import_graph(root, ["pkg"]))


def test_a_clean_synthetic_package_passes_and_its_imports_are_all_seen(tmp_path: Path):
    assert checked(tmp_path, {}).ok
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.low"] == {"pkg.util.text"}  # parent packages run too, but are not counted
    assert graph["pkg.high"] == {"pkg", "pkg.low"}  # `from . import low` resolved against the package
    assert graph["pkg.top"] == {"pkg.high", "pkg.twin_b"}


def test_the_table_is_read_from_its_section_only():
    table = parse_table(TABLE)
    assert [layer.name for layer in table.layers] == ["low", "high", "top"]
    assert table.layer_of("pkg.util.text").name == "low"
    assert table.layer_of("pkg.high").name == "high"  # the later section's row does not count
    assert table.layer_of("elsewhere") is None
    assert table.checked == ("pkg.*", "pkg.low")  # the whole paragraph, not the later one


@pytest.mark.parametrize("changes", [
    {"pkg/low.py": "def later():\n    from pkg.high import thing\n"},  # inside a function
    {"pkg/low.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.top\n"},  # for types only
    {"pkg/util/text.py": "from .. import high\n"},  # relative, two levels up
    {"pkg/high.py": "import pkg.top\n"},  # a layer above
], ids=["lazy", "type_checking", "relative", "upward"])
def test_an_import_against_the_table_fails(tmp_path: Path, changes: dict[str, str]):
    report = checked(tmp_path, changes)
    assert not report.ok and len(report.violations) == 1, report.render()
    assert "may import only" in report.violations[0]


def test_an_import_cycle_inside_one_layer_fails_and_is_shown(tmp_path: Path):
    report = checked(tmp_path, {"pkg/twin_a.py": "def f():\n    import pkg.twin_b\n"})
    assert not report.violations
    assert report.cycles == [["pkg.twin_a", "pkg.twin_b"]]
    assert "import cycle: pkg.twin_a -> pkg.twin_b -> pkg.twin_a" in report.render()


def test_a_module_outside_the_table_fails(tmp_path: Path):
    report = checked(tmp_path, {"pkg/stray.py": "", "pkg/high.py": "import pkg.stray\n"})
    assert any("pkg.stray is in no layer" in v for v in report.violations)
    assert any("imports pkg.stray, which is in no layer" in v for v in report.violations)


def test_unchecked_modules_may_break_the_table_until_they_are_checked(tmp_path: Path):
    root = write_package(tmp_path, CLEAN | {"pkg/low.py": "import pkg.top\n"})
    narrow = parse_table(TABLE.replace("`pkg.*`,\n`pkg.low`.", "`pkg.high`, `pkg.top`."))
    assert check(narrow, import_graph(root, ["pkg"])).ok
    assert not check(narrow, import_graph(root, ["pkg"]), every_module=True).ok


@pytest.mark.parametrize(("text", "message"), [
    ("# no section\n", "no '## Layers' section"),
    ("## Layers\n\n| a | b |\n|---|---|\n| x | `m` |\n", "columns"),
    ("## Layers\n\n| layer | modules | may import |\n|---|---|---|\n| x | `m` | y |\n\nChecked by `tests/test_layers.py`: `m`.\n",
     "unknown layers"),
    ("## Layers\n\n| layer | modules | may import |\n|---|---|---|\n| x | `m` | — |\n", "names what is checked"),
])
def test_a_malformed_table_is_refused(text: str, message: str):
    with pytest.raises(TableError, match=message):
        parse_table(text)
