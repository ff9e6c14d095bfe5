"""The layout holds: SQL only in store/, and no folder imports one above it.

``docs/architecture.md`` describes the layers; these tests keep the code to them, so a
reader who finds a thing by its folder can trust that nothing else reaches around it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "lettermon"

# A module's layer: the top folder under src/lettermon, or the module itself at the top.
# A module may import its own layer and those of lower rank; two layers of the same rank
# are siblings that know nothing of each other.
RANKS = {
    "__init__": 0, "models": 0, "errors": 0, "clock": 0, "durations": 0, "retry_after": 0,
    "settings": 0, "terminal": 0, "netguard": 0, "l10n": 0, "templates": 0, "redact": 0,
    "store": 1,
    "watch": 2, "announce": 2,
    "run": 3, "report": 3,
    "registry": 4,
    "app": 5,
    "cli": 6, "__main__": 7,
}

SQL = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|"
                 r"CREATE\s+(TEMPORARY\s+|UNIQUE\s+)?(TABLE|INDEX)|DROP\s+TABLE|ALTER\s+TABLE|"
                 r"pg_\w*advisory\w*)", re.DOTALL)


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def layer(path: Path) -> str:
    """The folder under src/lettermon, or "shared" for the modules at the top of rank 0."""
    top = path.relative_to(SRC).with_suffix("").parts[0]
    return "shared" if RANKS[top] == 0 else top


def imported(path: Path) -> set[str]:
    """Every ``lettermon.*`` module this file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("lettermon"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.startswith("lettermon"):
            if node.module == "lettermon":
                found.update(f"lettermon.{a.name}" for a in node.names)
            else:
                found.add(node.module)
    return found


def layer_of_module(name: str) -> str:
    parts = name.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if not ((SRC / top).is_dir() or (SRC / f"{top}.py").is_file()):
        top = "__init__"  # a name the package itself defines, such as __version__
    return "shared" if RANKS[top] == 0 else top


def rank(name: str) -> int:
    return 0 if name == "shared" else RANKS[name]


def test_every_module_has_a_layer() -> None:
    assert {p.relative_to(SRC).with_suffix("").parts[0] for p in modules()} <= set(RANKS)


def test_no_folder_imports_one_above_it_or_a_sibling() -> None:
    wrong = []
    for path in modules():
        mine = layer(path)
        for name in imported(path):
            theirs = layer_of_module(name)
            if theirs != mine and rank(theirs) >= rank(mine):
                wrong.append(f"{path.relative_to(SRC)} imports {name}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def strings(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module (f-strings joined), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            found.append((node.lineno, text))
    return found


def test_sql_is_written_only_in_store() -> None:
    outside = []
    for path in modules():
        if layer(path) == "store":
            continue
        for line, text in strings(path):
            if SQL.search(text):
                outside.append(f"{path.relative_to(SRC)}:{line}: {text[:60]!r}")
    assert not outside, "SQL outside src/lettermon/store/:\n" + "\n".join(outside)


@pytest.mark.parametrize("text", [
    "SELECT count FROM polls WHERE letter_id = ?",
    "INSERT INTO outbox (id) VALUES (?)",
    "UPDATE letters SET title = ? WHERE id = ?",
    "DELETE FROM crawl_rows",
    "SELECT pg_try_advisory_lock(?)",
])
def test_the_sql_scan_recognises_sql(text: str) -> None:
    assert SQL.search(text)


@pytest.mark.parametrize("text", [
    "select the letters to poll", "Update your config", "the count fell from 5 to 0",
])
def test_the_sql_scan_leaves_prose_alone(text: str) -> None:
    assert not SQL.search(text)
