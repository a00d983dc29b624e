"""``doctor --template``'s machine-client checks: is a ``jwt-validation`` listener rule set up safely?

A rule with ``jwt-validation`` (AWS: "Verify JWTs using an Application Load Balancer") lets a bearer token
in instead of a browser sign-in. It is safe when its issuer and JWKS are https URLs (the ALB requires a
full https JWKS URL; an issuer is compared as written, so an http one would never match a real IdP's
tokens), when it is matched by the agent API paths only (a broader pattern lets machine tokens reach
the browser pages), when it forwards after validating, and when no rule that signs browsers in on the
same paths is evaluated before it (a lower ``Priority``). Templates are read as
``doctor.revocation`` reads them (YAML as text, or JSON); a ``!Ref`` to a parameter is judged by the
parameter's ``AllowedPattern`` (or its default), each branch of an ``!If`` on its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit_alb_auth.doctor import Check, fail, ok, warn
from streamlit_alb_auth.doctor.template_lines import KEY, nested, without_block_scalars

NAME = "machine-rule"
AGENT_PATH_PREFIX = "/_stcore/agent/"
RULE_TYPE = "AWS::ElasticLoadBalancingV2::ListenerRule"


@dataclass
class Rule:
    """What the checks need of one listener rule; values are the raw forms (literal, Ref, Sub, If)."""

    name: str
    priority: str = ""
    paths: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    issuer: list[str] = field(default_factory=list)
    jwks: list[str] = field(default_factory=list)


def check_machine_rules(path: Path) -> list[Check]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [fail(NAME, f"cannot read {path}: {error}", "pass a CloudFormation template file")]
    rules, patterns = _json_rules(text) if text.lstrip().startswith("{") else _yaml_rules(text)
    machines = [rule for rule in rules if "jwt-validation" in rule.actions]
    if not machines:
        return [ok(NAME, f"{path.name} has no jwt-validation rule: machine clients are not let in")]
    checks: list[Check] = []
    for rule in machines:
        checks += _url_checks(rule, "Issuer", rule.issuer, patterns)
        checks += _url_checks(rule, "JwksEndpoint", rule.jwks, patterns)
        checks.append(_paths_check(rule))
        checks.append(_order_check(rule, rules))
    return checks


def _url_checks(rule: Rule, what: str, branches: list[str], patterns: Mapping[str, str]) -> list[Check]:
    if not branches:
        return [fail(NAME, f"{rule.name} has no {what}", f"set JwtValidationConfig.{what}")]
    checks = []
    for value in branches:
        reference = re.fullmatch(r"!Ref\s+([A-Za-z0-9]+)", value)
        if reference:
            parameter = reference[1]
            pattern = patterns.get(parameter, "")
            https = pattern.lstrip("(^").startswith("https://")
            seen = f"parameter {parameter} (AllowedPattern {pattern!r})"
        else:
            https = value.strip("'\"").startswith("https://")
            seen = value
        if https:
            checks.append(ok(NAME, f"{rule.name}'s {what} is https: {seen}"))
        else:
            checks.append(
                fail(
                    NAME,
                    f"{rule.name}'s {what} may not be an https URL: {seen}",
                    f'give {what} as https://... (a parameter: AllowedPattern "(https://[^\\\\s]+)?")',
                )
            )
    return checks


def _paths_check(rule: Rule) -> Check:
    if not rule.paths:
        return warn(
            NAME,
            f"{rule.name} has no path-pattern condition: machine tokens are let in wherever it matches",
            f"match it by path, {AGENT_PATH_PREFIX}*",
        )
    broad = [path for path in rule.paths if not path.startswith(AGENT_PATH_PREFIX)]
    if broad:
        return fail(
            NAME,
            f"{rule.name} lets machine tokens in on {', '.join(broad)}: browser pages too",
            f"limit its path-pattern to {AGENT_PATH_PREFIX}*",
        )
    if rule.actions[-1:] != ["forward"]:
        return fail(NAME, f"{rule.name} does not forward after jwt-validation", "add a forward action")
    return ok(NAME, f"{rule.name} opens only the agent API to machine tokens: {', '.join(rule.paths)}")


def _covers(pattern: str, path: str) -> bool:
    """Does an ALB path pattern (``*`` any characters, ``?`` one) match ``path``?"""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, path) is not None


def _order_check(rule: Rule, rules: list[Rule]) -> Check:
    sample = AGENT_PATH_PREFIX + "mcp"
    try:
        mine = int(rule.priority)
    except ValueError:
        return warn(NAME, f"{rule.name}'s Priority {rule.priority!r} is not a number here", "check the order")
    before = [
        other.name
        for other in rules
        if other is not rule
        and any(kind.startswith("authenticate-") for kind in other.actions)
        and (not other.paths or any(_covers(pattern, sample) for pattern in other.paths))
        and other.priority.isdigit()
        and int(other.priority) < mine
    ]
    if before:
        return fail(
            NAME,
            f"{', '.join(before)} signs browsers in on the agent paths before {rule.name} (lower Priority)",
            f"give {rule.name} a lower Priority than every authenticate rule on those paths",
        )
    return ok(NAME, f"{rule.name} (Priority {mine}) comes before browser sign-in on the agent paths")


# --- reading templates -----------------------------------------------------------------------------


def _yaml_rules(text: str) -> tuple[list[Rule], dict[str, str]]:
    lines = without_block_scalars(text.splitlines())
    patterns: dict[str, str] = {}
    rules: list[Rule] = []
    section = ""
    for index, line in enumerate(lines):
        match = KEY.match(line)
        if not match:
            continue
        if not match["indent"]:
            section = match["key"]
            continue
        if len(match["indent"]) != 2 or line.lstrip().startswith("- "):
            continue
        body = nested(lines, index, 2)
        if section == "Parameters":
            found = [m["value"] for m in map(KEY.match, body) if m and m["key"] == "AllowedPattern"]
            defaults = [m["value"] for m in map(KEY.match, body) if m and m["key"] == "Default"]
            patterns[match["key"]] = _unquote(found[0]) if found else _unquote((defaults or [""])[0])
        elif section == "Resources" and any(b.strip() == f"Type: {RULE_TYPE}" for b in body):
            rules.append(_yaml_rule(match["key"], body))
    return rules, patterns


def _yaml_rule(name: str, body: list[str]) -> Rule:
    rule = Rule(name)
    for index, line in enumerate(body):
        match = KEY.match(line)
        if not match:
            continue
        key, value = match["key"], match["value"]
        if key == "Priority":
            rule.priority = _unquote(value)
        elif key == "Type" and line.lstrip().startswith("- "):
            rule.actions.append(_unquote(value))
        elif key == "Values" and "PathPatternConfig" in "".join(body[max(0, index - 2) : index]):
            rule.paths = _yaml_list(value, body, index, len(match["indent"]))
        elif key == "JwtValidationConfig":
            config = nested(body, index, len(match["indent"]))
            for at, inner in enumerate(config):
                found = KEY.match(inner)
                if found and found["key"] in ("Issuer", "JwksEndpoint"):
                    branches = _branches(found["value"], config, at, len(found["indent"]))
                    (rule.issuer if found["key"] == "Issuer" else rule.jwks).extend(branches)
    return rule


def _yaml_list(value: str, body: list[str], index: int, indent: int) -> list[str]:
    if value.startswith("["):
        return [_unquote(item) for item in value.strip("[]").split(",") if item.strip()]
    items = nested(body, index, indent)
    return [_unquote(item.strip()[2:]) for item in items if item.strip().startswith("- ")]


def _branches(value: str, body: list[str], index: int, indent: int) -> list[str]:
    """The values an Issuer or JwksEndpoint can take: an ``!If``'s two branches, else the value."""
    if value.startswith("!If"):
        items = (
            [item.strip() for item in value[3:].strip().strip("[]").split(",")]
            if "[" in value
            else [item.strip()[2:] for item in nested(body, index, indent) if item.strip().startswith("- ")]
        )
        return [_unquote(re.sub(r"^!Sub\s+", "", item)) for item in items[1:3]]
    return [_unquote(re.sub(r"^!Sub\s+", "", value))]


def _unquote(value: str) -> str:
    return value.strip().strip("'\"")


def _json_rules(text: str) -> tuple[list[Rule], dict[str, str]]:
    try:
        template = json.loads(text)
    except ValueError:
        return [], {}
    parameters = template.get("Parameters") or {}
    patterns = {
        name: str(spec.get("AllowedPattern", spec.get("Default", "")))
        for name, spec in parameters.items()
        if isinstance(spec, dict)
    }
    rules = []
    for name, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != RULE_TYPE:
            continue
        properties = resource.get("Properties") or {}
        rule = Rule(name, priority=str(properties.get("Priority", "")))
        for condition in properties.get("Conditions") or []:
            rule.paths += [str(v) for v in (condition.get("PathPatternConfig") or {}).get("Values", [])]
        for action in sorted(properties.get("Actions") or [], key=lambda a: a.get("Order", 0)):
            rule.actions.append(str(action.get("Type", "")))
            config = action.get("JwtValidationConfig") or {}
            rule.issuer += _json_branches(config.get("Issuer"))
            rule.jwks += _json_branches(config.get("JwksEndpoint"))
        rules.append(rule)
    return rules, patterns


def _json_branches(node: Any) -> list[str]:
    if node is None:
        return []
    if isinstance(node, dict) and "Fn::If" in node:
        return [b for branch in node["Fn::If"][1:3] for b in _json_branches(branch)]
    if isinstance(node, dict) and "Ref" in node:
        return [f"!Ref {node['Ref']}"]
    if isinstance(node, dict) and "Fn::Sub" in node:
        sub = node["Fn::Sub"]
        return [str(sub[0] if isinstance(sub, list) else sub)]
    return [str(node)]
