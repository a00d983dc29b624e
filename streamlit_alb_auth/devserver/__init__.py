"""``streamlit-alb-auth dev``: a local stand-in for an ALB with ``authenticate-cognito``, no AWS needed.

It signs you in on a fake hosted UI, keeps the session in sharded ``AWSELBAuthSessionCookie-N``
cookies, adds freshly signed ``x-amzn-oidc-*`` headers to everything it forwards to Streamlit,
serves the matching public keys, and runs the shipped logout Lambda on ``/cognito/logout``.
Needs the ``[dev]`` extra (aiohttp).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamlit_alb_auth.devserver.config import DevConfig

INSTALL_HINT = 'the dev server needs aiohttp: pip install "streamlit-alb-auth[dev]"'
LOCAL_DEMO = "demo_app.py"


def resolve_app(app: str | None, folder: Path | None = None) -> Path:
    """The script to run: ``app`` if given, else ``./demo_app.py`` if there is one, else the packaged demo."""
    if app is not None:
        return Path(app)
    local = (folder or Path.cwd()) / LOCAL_DEMO
    if local.is_file():
        return local
    from streamlit_alb_auth.demo import DEMO_APP

    return DEMO_APP


def run_dev(args: argparse.Namespace) -> int:
    """Run ``args.app`` behind the stand-in on ``args.port`` until Ctrl-C; the exit status."""
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    from streamlit_alb_auth.devserver.runner import serve

    app = resolve_app(args.app)
    if not app.is_file():
        print(f"no Streamlit script at {app}", file=sys.stderr)
        return 2
    try:
        config = dev_config(args)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return asyncio.run(serve(config, app))


def dev_config(args: argparse.Namespace) -> DevConfig:
    """The run the ``dev`` flags ask for; ``ValueError`` says which flag is wrong."""
    from streamlit_alb_auth.devserver.config import DEFAULT_SESSION_SECONDS, DevConfig
    from streamlit_alb_auth.devserver.runner import free_port
    from streamlit_alb_auth.devserver.users import offered_users

    return DevConfig(
        port=args.port,
        streamlit_port=getattr(args, "streamlit_port", None) or free_port(),
        users=offered_users(
            getattr(args, "user", None) or (), defaults=not getattr(args, "no_default_users", False)
        ),
        session_seconds=getattr(args, "session_timeout", None) or DEFAULT_SESSION_SECONDS,
        lambda_headers=getattr(args, "lambda_headers", None) or "multi",
        idp=getattr(args, "idp", None) or "cognito",
        logout_by=getattr(args, "logout_by", None) or "lambda",
        machine_clients=bool(getattr(args, "machine_clients", False)),
        **_fidelity(args),
    )


def _fidelity(args: argparse.Namespace) -> dict[str, object]:
    """The flags that set AWS's behaviours (scope, token and sign-in lifetimes, issuer format, prompt)."""
    names = (
        "scope",
        "access_token_seconds",
        "managed_login_seconds",
        "cognito_issuer",
        "force_sign_in_prompt",
    )
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
