"""A cosmic-ray operator that weakens regular expressions (cosmic-ray leaves string literals alone).

scripts/mutation.sh registers it as the operator provider ``regex`` (a dist-info directory in
.mutation/plugins). It mutates raw string literals that reach a ``re.*`` call, directly or through
module-level names (``LABEL = r"..."`` used in ``re.compile(rf"...{LABEL}...")``), one change per
mutant, each one accepting more than the original:

* a character class ``[...]`` becomes ``.``;          * ``+`` becomes ``*``;
* ``\\d`` becomes ``\\w``;  ``\\.`` becomes ``.``;        * ``$`` is dropped;
* a bound ``{m,n}`` / ``{m}`` loses its upper limit (``{m,}``), or its lower one (``{0,n}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import parso.python.tree as tree
from cosmic_ray.operators.operator import Operator

RE_FUNCTIONS = frozenset({"compile", "fullmatch", "match", "search", "findall", "finditer", "sub", "split"})
_QUOTE = re.compile(r"([a-zA-Z]*)(\"\"\"|'''|\"|')")
_BOUND = re.compile(r"\{(\d+)(,(\d*))?\}")
_FSTRING_BOUND = re.compile(r"\{\{(\d+)(,(\d*))?\}\}")


def weakened(pattern: str, *, fstring: bool) -> list[str]:
    """Every single-change weakening of ``pattern`` (the text of a raw literal)."""
    mutants: list[str] = []
    outside: list[int] = []  # indexes of characters outside any class and not escaped
    i, class_start = 0, -1
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            pair = pattern[i : i + 2]
            if pair == "\\d":
                mutants.append(pattern[:i] + "\\w" + pattern[i + 2 :])
            elif pair == "\\." and class_start < 0:
                mutants.append(pattern[:i] + "." + pattern[i + 2 :])
            i += 2
            continue
        if class_start >= 0:
            if char == "]" and i > class_start + 1 and pattern[class_start + 1 : i] != "^":
                mutants.append(pattern[:class_start] + "." + pattern[i + 1 :])
                class_start = -1
        elif char == "[":
            class_start = i
        else:
            outside.append(i)
        i += 1
    for index in outside:
        if pattern[index] == "+":
            mutants.append(pattern[:index] + "*" + pattern[index + 1 :])
        elif pattern[index] == "$":
            mutants.append(pattern[:index] + pattern[index + 1 :])
    open_brace, close_brace = ("{{", "}}") if fstring else ("{", "}")
    outside_set = set(outside)
    for match in (_FSTRING_BOUND if fstring else _BOUND).finditer(pattern):
        if match.start() not in outside_set:
            continue
        low, comma, high = match[1], match[2], match[3]
        before, after = pattern[: match.start()], pattern[match.end() :]
        if not comma or high:
            mutants.append(f"{before}{open_brace}{low},{close_brace}{after}")
        if int(low) > 0:
            mutants.append(f"{before}{open_brace}0,{high if comma else low}{close_brace}{after}")
    return mutants


def _regex_literals(root: tree.BaseNode) -> set[tuple[int, int]]:
    """Start positions of the string and f-string nodes that end up in a ``re.*`` call."""
    found: set[tuple[int, int]] = set()
    names: set[str] = set()

    def take(node: tree.NodeOrLeaf) -> None:
        if node.type in {"string", "fstring"}:
            found.add(node.start_pos)
        if node.type == "name":
            names.add(node.value)
        for child in getattr(node, "children", ()):
            take(child)

    for node in _walk(root):
        if node.type == "atom_expr" and len(node.children) >= 3:
            first, attribute, call = node.children[:3]
            if (
                first.type == "name"
                and first.value == "re"
                and attribute.type == "trailer"
                and attribute.children[1].value in RE_FUNCTIONS
                and call.type == "trailer"
                and call.children[0].value == "("
            ):
                arguments = call.children[1]
                take(arguments.children[0] if arguments.type == "arglist" else arguments)
    assignments = [
        statement.children[0]
        for statement in root.children
        if statement.type == "simple_stmt" and statement.children[0].type == "expr_stmt"
    ]
    grown = True
    while grown:
        before = (len(found), len(names))
        for assignment in assignments:
            target = assignment.children[0]
            if target.type == "name" and target.value in names:
                take(assignment.children[-1])
        grown = (len(found), len(names)) != before
    return found


def _walk(node: tree.NodeOrLeaf) -> Iterator[tree.NodeOrLeaf]:
    yield node
    for child in getattr(node, "children", ()):
        yield from _walk(child)


_CACHE: dict[int, set[tuple[int, int]]] = {}


def _mutants_of(node: tree.NodeOrLeaf) -> list[str]:
    root = node.get_root_node()
    literals = _CACHE.setdefault(id(root), _regex_literals(root))
    if node.type == "string" and node.start_pos in literals:
        prefix, quote = _QUOTE.match(node.value).groups()  # type: ignore[union-attr]
        if "r" not in prefix.lower() or "f" in prefix.lower():
            return []
        body = node.value[len(prefix) + len(quote) : -len(quote)]
        return [f"{prefix}{quote}{mutant}{quote}" for mutant in weakened(body, fstring=False)]
    if node.type == "fstring_string" and node.parent.start_pos in literals:
        if "r" not in node.parent.children[0].value.lower():
            return []
        return weakened(node.value, fstring=True)
    return []


class WeakenRegex(Operator):
    """Weaken one element of a regular expression literal."""

    def mutation_positions(self, node: tree.NodeOrLeaf) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
        for _ in _mutants_of(node):
            yield (node.start_pos, node.end_pos)

    def mutate(self, node: tree.NodeOrLeaf, index: int) -> tree.NodeOrLeaf:
        value = _mutants_of(node)[index]
        leaf_class = tree.String if node.type == "string" else tree.FStringString
        return leaf_class(value, node.start_pos, prefix=node.prefix)

    @classmethod
    def examples(cls) -> tuple:
        return ()


class RegexOperators:
    """The ``regex`` operator provider."""

    def __iter__(self) -> Iterator[str]:
        return iter(["WeakenRegex"])

    def __getitem__(self, name: str) -> type[Operator]:
        if name != "WeakenRegex":
            raise KeyError(name)
        return WeakenRegex
