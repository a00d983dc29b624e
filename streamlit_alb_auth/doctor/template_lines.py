"""A CloudFormation template read as text, line by line, for the block style templates are written in
(no YAML parser is a dependency): enough for ``doctor`` to find keys, their nested lines, and the
parameters' defaults."""

from __future__ import annotations

import re

KEY = re.compile(r"^(?P<indent>\s*)(?:- )?(?P<key>[A-Za-z]+):\s*(?P<value>.*?)\s*$")
"""One ``key: value`` line (or ``- key: value``), with its indent."""


def without_block_scalars(lines: list[str]) -> list[str]:
    """The lines, each ``>``/``|`` block's text blanked: a description or inlined code is not a key."""
    kept, inside = [], -1
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if inside >= 0 and (not line.strip() or indent > inside):
            kept.append("")
            continue
        inside = -1
        kept.append(line)
        match = KEY.match(line)
        if match and re.fullmatch(r"[>|][-+]?", match["value"]):
            inside = indent
    return kept


def nested(lines: list[str], index: int, indent: int) -> list[str]:
    """The lines nested under ``lines[index]`` (indented deeper than ``indent``)."""
    found = []
    for line in lines[index + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        found.append(line)
    return found


def parameter_defaults(lines: list[str]) -> dict[str, str]:
    """Each parameter's `Default`, unquoted: what a `!Ref` to it reads as when nothing overrides it."""
    defaults: dict[str, str] = {}
    try:
        start = next(i for i, line in enumerate(lines) if line.rstrip() == "Parameters:")
    except StopIteration:
        return defaults
    name = ""
    for line in nested(lines, start, 0):
        match = KEY.match(line)
        if match and len(match["indent"]) == 2:
            name = match["key"]
        elif match and match["key"] == "Default" and name:
            defaults[name] = match["value"].strip("'\"")
    return defaults
