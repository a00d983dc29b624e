"""The streamlit-alb-auth command: write out the deployment templates, or run the local ALB stand-in."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from streamlit_alb_auth import __version__
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH, SESSION_COOKIE

# Shown by --help, so plain text: the module docstring is for readers of the code.
DESCRIPTION = (
    "Verified AWS ALB sign-in for Streamlit apps: write out the deployment templates, "
    "or run your app behind a local stand-in for the ALB."
)


def _add_template_command(commands: argparse._SubParsersAction) -> None:
    from streamlit_alb_auth.templates import FILES, SUMMARIES

    kinds = "\n".join(f"  {kind:<13} {SUMMARIES[kind]}" for kind in FILES)
    parser = commands.add_parser(
        "template",
        help="write the logout Lambda, a CloudFormation template or a Dockerfile to a folder",
        description="Write a deployment template (and a note on what to fill in) to --out.\n\n"
        f"kinds:\n{kinds}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=list(FILES), help="which template (see kinds above)")
    parser.add_argument("--out", default=".", help="folder to write into (default: .)")
    parser.add_argument("--force", action="store_true", help="overwrite files that exist with other content")
    parser.set_defaults(run=_run_template)


def _run_template(args: argparse.Namespace) -> int:
    from streamlit_alb_auth.templates import write_template

    return write_template(args.kind, args.out, force=args.force)


def _add_dev_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dev",
        help="run an app behind a local stand-in for the ALB's Cognito sign-in",
        description="Start Streamlit on a loopback port behind a local ALB stand-in (needs the [dev] extra).",
    )
    parser.add_argument(
        "app",
        nargs="?",
        default=None,
        help="Streamlit script (default: ./demo_app.py if there is one, else the packaged demo)",
    )
    parser.add_argument("--port", type=int, default=8080, help="port the stand-in listens on (default: 8080)")
    parser.add_argument(
        "--streamlit-port",
        type=int,
        default=0,
        help="loopback port for Streamlit itself (default: a free one)",
    )
    parser.add_argument(
        "--user",
        action="append",
        metavar="EMAIL[:GROUP,...]",
        help="add a user to the sign-in page, beside admin@example.com (group admin) and user@example.com; "
        "repeat for more (a default user's email changes that user's groups)",
    )
    parser.add_argument(
        "--no-default-users",
        action="store_true",
        help="offer only the --user users, not admin@example.com and user@example.com",
    )
    parser.add_argument(
        "--session-timeout",
        type=_session_seconds,
        default=28800,
        metavar="SECONDS",
        help="how long a sign-in lasts, as the ALB's SessionTimeout (1-604800; default: 28800, 8 hours)",
    )
    parser.add_argument(
        "--lambda-headers",
        choices=["multi", "single"],
        default="multi",
        help="the logout Lambda target group's header mode: multi-value (one answer expires every "
        "cookie shard) or single-value (a redirect per shard) (default: multi)",
    )
    parser.add_argument(
        "--logout-by",
        choices=["lambda", "app"],
        default="lambda",
        help="what answers the logout path, as the templates' LogoutBy: the shipped logout Lambda, or the "
        "app's own route (an st.App built with alb_auth()); the app gets the Lambda's settings either way "
        "(default: lambda)",
    )
    parser.add_argument(
        "--idp",
        choices=["cognito", "oidc"],
        default="cognito",
        help="what signs users in: a Cognito user pool (authenticate-cognito) or a generic OIDC provider "
        "(authenticate-oidc: discovery, JWKS, userinfo, end-session; groups in a 'groups' claim) "
        "(default: cognito)",
    )
    _add_fidelity_flags(parser)
    parser.set_defaults(run=_run_dev)


def _add_fidelity_flags(parser: argparse.ArgumentParser) -> None:
    """What the stand-in does as AWS does, set as a deployment would set it."""
    from streamlit_alb_auth.devserver.config import (
        DEFAULT_ACCESS_TOKEN_SECONDS,
        DEFAULT_SCOPE,
        MANAGED_LOGIN_SECONDS,
    )

    parser.add_argument(
        "--scope",
        default=None,
        help="the scopes the ALB rule asks for; GlobalSignOut (logout's revocation) needs "
        f"aws.cognito.signin.user.admin among them (default: stack.yaml's, {DEFAULT_SCOPE!r}; with "
        "--idp oidc, 'openid email profile')",
    )
    parser.add_argument(
        "--access-token-seconds",
        type=_bounded(1, 86400),
        default=DEFAULT_ACCESS_TOKEN_SECONDS,
        metavar="SECONDS",
        help="access token lifetime: a session (and a copy of its cookie) lives this long after a logout, "
        "until the ALB's refresh is refused (default: stack.yaml's AccessTokenMinutes, 900)",
    )
    parser.add_argument(
        "--managed-login-seconds",
        type=_bounded(0, 129600 * 60),
        default=MANAGED_LOGIN_SECONDS,
        metavar="SECONDS",
        help="how long the hosted sign-in signs a browser back in without asking (default: Cognito's, 3600)",
    )
    parser.add_argument(
        "--cognito-issuer",
        choices=["original", "updated"],
        default="original",
        help="the user pool's issuer format: cognito-idp.REGION... or issuer-cognito-idp.REGION... "
        "(default: original)",
    )
    parser.add_argument(
        "--machine-clients",
        action="store_true",
        help="emulate stack.yaml's MachineClients cognito: bearer tokens checked on /_stcore/agent/*, "
        "a local client-credentials client at /oauth2/token (its secret is printed at start-up)",
    )
    parser.add_argument(
        "--force-sign-in-prompt",
        action="store_true",
        help="the ALB asks for prompt=login, as stack.yaml's ForceSignInPrompt does: each sign-in asks again",
    )


def _bounded(low: int, high: int) -> Callable[[str], int]:
    def seconds(text: str) -> int:
        value = int(text) if text.isdigit() else -1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low} to {high} seconds")
        return value

    return seconds


def _session_seconds(text: str) -> int:
    seconds = int(text) if text.isdigit() else 0
    if not 1 <= seconds <= 604800:
        raise argparse.ArgumentTypeError("must be 1 to 604800 seconds, as on the ALB")
    return seconds


def _run_dev(args: argparse.Namespace) -> int:
    """Imported late: the stand-in needs aiohttp, which ``template`` users need not install."""
    from streamlit_alb_auth.devserver import run_dev

    return run_dev(args)


def _add_doctor_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "doctor",
        help="check a live deployment (--url) or, without it, the configuration where the app runs",
        description="With --url: sign-in redirect, health, logout, signed-out page, TLS and HSTS, seen from "
        "outside. Without: the ALB ARN, key service, JWKS, clock, trustedUserHeaders and cookie name, "
        "where the app runs. Exits 1 if any check fails.",
    )
    parser.add_argument("--url", help="the URL users open, e.g. https://app.example.com/")
    parser.add_argument(
        "--template",
        metavar="FILE",
        help="a CloudFormation template instead: does each Cognito sign-in ask for the scope logout's "
        "revocation (GlobalSignOut) needs, and does the app client allow it",
    )
    parser.add_argument("--logout-path", default=LOGOUT_PATH, help=f"(default: {LOGOUT_PATH})")
    parser.add_argument("--health-path", default="/_stcore/health", help="(default: /_stcore/health)")
    parser.add_argument(
        "--cookie-name",
        default=SESSION_COOKIE,
        help=f"the listener's SessionCookieName (default: {SESSION_COOKIE})",
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(run=_run_doctor)


def _run_doctor(args: argparse.Namespace) -> int:
    from streamlit_alb_auth.doctor import run_doctor

    return run_doctor(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlit-alb-auth", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_template_command(commands)
    _add_dev_command(commands)
    _add_doctor_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)
