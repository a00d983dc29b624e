"""``doctor``'s revocation checks: can logout's ``GlobalSignOut`` work with what this deployment asks for?

Cognito revokes a user's refresh tokens only for an access token with the scope
``aws.cognito.signin.user.admin`` (Cognito API reference, GlobalSignOut). The ALB's access token has
the scopes its authenticate rule asked for (``Scope``, default ``openid``), among those the app client
allows (``AllowedOAuthScopes``). Three places show it:

* a CloudFormation template (``doctor --template FILE``): each ``AuthenticateCognitoConfig``'s ``Scope``
  (a ``!Ref`` to a parameter is read at its default) and each ``AllowedOAuthScopes``; read as text, line
  by line, for the block style CloudFormation templates are written in (no YAML parser is a dependency);
* a live deployment (``doctor --url``): the ``scope`` of the ALB's redirect to Cognito's authorize page;
* the app's own logout route (``LogoutBy app``): its variables, which must give a GlobalSignOut endpoint.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from streamlit_alb_auth.doctor import Check, fail, ok, warn
from streamlit_alb_auth.doctor.template_lines import KEY, nested, parameter_defaults, without_block_scalars
from streamlit_alb_auth.templates.logout_lambda import SIGN_OUT_SCOPE, plan

NAME = "revocation"
FIX = (
    f"add {SIGN_OUT_SCOPE} to the Scope of every authenticate-cognito rule and to the app client's "
    "AllowedOAuthScopes (stack.yaml does both; logout.yaml: its Scope parameter)"
)
COST = "logout's GlobalSignOut is refused (NotAuthorizedException) and a copied session cookie keeps working"


def scope_check(scope: str | None, where: str) -> Check:
    """The verdict on one scope string an ALB asks Cognito for (``None``: the ALB's default, ``openid``)."""
    asked = (scope if scope is not None else "openid").split()
    if SIGN_OUT_SCOPE in asked:
        return ok(NAME, f"{where} asks for {SIGN_OUT_SCOPE}: logout can revoke the user's tokens")
    return warn(NAME, f"{where} asks for {' '.join(asked)!r}, without {SIGN_OUT_SCOPE}: {COST}", FIX)


def check_template(path: Path) -> list[Check]:
    """The revocation check of a CloudFormation template (YAML or JSON) that signs in with Cognito."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return [fail(NAME, f"cannot read {path}: {error}", "pass a CloudFormation template file")]
    scopes, allowed = _json_scopes(text) if text.lstrip().startswith("{") else _yaml_scopes(text)
    if not scopes:
        return [
            ok(NAME, f"{path.name} has no authenticate-cognito rule: nothing to revoke with GlobalSignOut")
        ]
    checks = [
        scope_check(scope, f"{path.name}'s authenticate-cognito rule #{n}")
        for n, scope in enumerate(scopes, 1)
    ]
    for n, client in enumerate(allowed, 1):
        if SIGN_OUT_SCOPE not in client:
            checks.append(
                warn(NAME, f"{path.name}'s app client #{n} does not allow {SIGN_OUT_SCOPE}: {COST}", FIX)
            )
    worst = [check for check in checks if check.status != "ok"]
    client = "the app client allows it" if allowed else "its app client (not in this template) must allow it"
    return worst or [ok(NAME, f"{path.name}: every Cognito sign-in asks for {SIGN_OUT_SCOPE}; {client}")]


def check_logout_route(env: Mapping[str, str]) -> Check | None:
    """Where the app runs the logout route itself (its Lambda variables are set): does it revoke?"""
    if not any(env.get(name) for name in ("COGNITO_CLIENT_ID", "IDP_LOGOUT_URL")):
        return None  # the Lambda logs out: its variables are not visible from here
    if env.get("IDP_LOGOUT_URL"):
        return warn(
            NAME,
            "the logout route ends the OIDC provider's session (IDP_LOGOUT_URL) but revokes no token: "
            "sessions elsewhere live until their refresh fails or SessionTimeout",
            "see the README's per-provider revocation table (or set ForceSignInPrompt)",
        )
    try:
        revoke_url = plan(env, {}, multi=True).revoke_url
    except ValueError as error:
        return fail(NAME, f"the logout route is misconfigured: {error}", "set the logout variables")
    if not revoke_url:
        return warn(
            NAME, "the logout route has no GlobalSignOut endpoint: it revokes nothing", "set AWS_REGION"
        )
    return ok(NAME, f"the logout route revokes with GlobalSignOut at {revoke_url}")


# --- reading templates -------------------------------------------------------------------------------


def _yaml_scopes(text: str) -> tuple[list[str | None], list[list[str]]]:
    """Each Cognito action's Scope (``None`` when it has none) and each ``AllowedOAuthScopes`` list."""
    lines = without_block_scalars(text.splitlines())
    defaults = parameter_defaults(lines)
    scopes: list[str | None] = []
    allowed: list[list[str]] = []
    for index, line in enumerate(lines):
        match = KEY.match(line)
        if not match:
            continue
        if match["key"] == "AuthenticateCognitoConfig":
            block = nested(lines, index, len(match["indent"]) + (2 if line.lstrip().startswith("- ") else 0))
            found = [m["value"] for m in map(KEY.match, block) if m and m["key"] == "Scope"]
            scopes.append(_value(found[0], defaults) if found else None)
        elif match["key"] == "AllowedOAuthScopes" and not _machine_client(lines, index, match["indent"]):
            if match["value"].startswith("["):
                allowed.append([item.strip().strip("'\"") for item in match["value"].strip("[]").split(",")])
            else:
                block = nested(lines, index, len(match["indent"]))
                allowed.append(
                    [item.strip()[2:].strip().strip("'\"") for item in block if item.strip().startswith("- ")]
                )
    return scopes, allowed


def _machine_client(lines: list[str], index: int, indent: str) -> bool:
    """Is the app client around ``lines[index]`` a client-credentials one (no user, nothing to revoke)?"""
    depth = len(indent)
    siblings = []
    for step in (-1, 1):
        at = index + step
        while 0 <= at < len(lines):
            line = lines[at]
            if line.strip() and len(line) - len(line.lstrip()) < depth:
                break
            if len(line) - len(line.lstrip()) == depth:
                siblings.append(line)
            at += step
    flows = [m["value"] for m in map(KEY.match, siblings) if m and m["key"] == "AllowedOAuthFlows"]
    return bool(flows) and flows[0].strip("[]").replace(" ", "") == "client_credentials"


def _value(raw: str, defaults: Mapping[str, str]) -> str:
    reference = re.fullmatch(r"(?:!Ref\s+|\{\s*Ref:\s*)([A-Za-z0-9]+)\s*\}?", raw)
    if reference:
        return defaults.get(reference[1], "")
    return raw.strip("'\"")


def _json_scopes(text: str) -> tuple[list[str | None], list[list[str]]]:
    try:
        template = json.loads(text)
    except ValueError:
        return [], []
    defaults = {
        name: str(spec.get("Default", ""))
        for name, spec in (template.get("Parameters") or {}).items()
        if isinstance(spec, dict)
    }
    scopes: list[str | None] = []
    allowed: list[list[str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "AuthenticateCognitoConfig" and isinstance(value, dict):
                    scope = value.get("Scope")
                    if isinstance(scope, dict) and "Ref" in scope:
                        scope = defaults.get(str(scope["Ref"]), "")
                    scopes.append(scope if isinstance(scope, str) or scope is None else "")
                elif key == "AllowedOAuthScopes" and isinstance(value, list):
                    allowed.append([str(item) for item in value])
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(template)
    return scopes, allowed
