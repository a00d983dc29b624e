"""Resolve a parsed CloudFormation template for given parameter values: what would be deployed.

Evaluates the conditions (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``),
drops resources and outputs whose condition is false, and replaces every ``Fn::If`` by its chosen
branch (``AWS::NoValue`` removes the key or list item). ``Ref`` and the other functions stay as
they are, so tests compare them as written.
"""

from __future__ import annotations

import re
from typing import Any

_GONE = object()


def resolve(template: dict, **parameters: str) -> dict:
    """The template as deployed with ``parameters`` (others at their ``Default``).

    Raises ``ValueError`` for a value its parameter's ``AllowedPattern`` refuses, as CloudFormation does.
    """
    unknown = set(parameters) - set(template["Parameters"])
    assert not unknown, f"no such parameters: {unknown}"
    values = {
        name: str(parameters.get(name, spec.get("Default", "")))
        for name, spec in template["Parameters"].items()
    }
    for name, given in parameters.items():
        # As CloudFormation refuses to deploy: a value its AllowedPattern does not match as a whole.
        pattern = template["Parameters"][name].get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, str(given)):
            raise ValueError(f"{name}={given!r} does not match its AllowedPattern")
    conditions: dict[str, bool] = {}

    def value(node: Any) -> Any:
        if isinstance(node, dict) and set(node) == {"Ref"} and node["Ref"] in values:
            return values[node["Ref"]]
        if isinstance(node, dict) and set(node) == {"Fn::Join"}:
            separator, items = node["Fn::Join"]
            items = value(items)
            return separator.join(str(value(item)) for item in items)
        if isinstance(node, (str, int, float)):
            return str(node)
        if isinstance(node, list):
            return [value(item) for item in node]
        raise AssertionError(f"cannot evaluate {node!r}")

    def truth(node: Any) -> bool:
        ((function, args),) = node.items()
        if function == "Condition":
            return condition(args)
        if function == "Fn::Equals":
            return value(args[0]) == value(args[1])
        if function == "Fn::Not":
            return not truth(args[0])
        if function == "Fn::And":
            return all(truth(arg) for arg in args)
        if function == "Fn::Or":
            return any(truth(arg) for arg in args)
        raise AssertionError(f"unknown condition function {function}")

    def condition(name: str) -> bool:
        if name not in conditions:
            conditions[name] = truth(template["Conditions"][name])
        return conditions[name]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, yes, no = node["Fn::If"]
                return walk(yes if condition(name) else no)
            if node == {"Ref": "AWS::NoValue"}:
                return _GONE
            out = {key: walk(item) for key, item in node.items()}
            return {key: item for key, item in out.items() if item is not _GONE}
        if isinstance(node, list):
            return [item for item in (walk(item) for item in node) if item is not _GONE]
        return node

    resolved = {key: item for key, item in template.items() if key not in ("Resources", "Outputs")}
    for section in ("Resources", "Outputs"):
        kept = {
            name: {key: item for key, item in body.items() if key != "Condition"}
            for name, body in template.get(section, {}).items()
            if "Condition" not in body or condition(body["Condition"])
        }
        resolved[section] = walk(kept)
    return resolved


def references(node: Any) -> set[str]:
    """Every logical name a ``Ref``, ``Fn::GetAtt`` or ``${Name...}`` in ``Fn::Sub`` points at."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, item in node.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            if key == "DependsOn":
                found |= {item} if isinstance(item, str) else set(item)
            found |= references(item)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found
