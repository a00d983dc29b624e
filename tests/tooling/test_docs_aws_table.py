"""docs/aws-and-the-stand-in.md: every row names an AWS document (or says where it was observed) and
tests that exist, so the table cannot drift from the suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "docs" / "aws-and-the-stand-in.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def rows() -> list[str]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Behaviour |"))
    return [line for line in lines[start + 2 :] if line.startswith("|")]


def test_every_row_has_a_source_and_a_test():
    assert len(rows()) >= 15
    for row in rows():
        behaviour, aws, stand_in, tests = (cell.strip() for cell in row.strip("|").split(" | "))
        assert "https://" in aws or "**observed**" in aws.lower(), behaviour
        assert stand_in, behaviour
        assert REFERENCE.search(tests), behaviour


def test_every_test_named_in_the_table_exists():
    named = REFERENCE.findall(TABLE.read_text(encoding="utf-8"))
    assert named
    for path, name in named:
        source = ROOT / path
        assert source.is_file(), path
        functions = {
            node.name for node in ast.walk(ast.parse(source.read_text())) if isinstance(node, ast.FunctionDef)
        }
        assert name in functions, f"{path}::{name}"


def test_the_readme_links_the_table():
    assert "docs/aws-and-the-stand-in.md" in (ROOT / "README.md").read_text(encoding="utf-8")
