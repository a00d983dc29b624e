"""``logout_button()`` and ``session_guard()``: end the ALB session, and leave every tab it ended in.

Clearing ``st.session_state`` alone logs nobody out: the ALB still holds its session cookie and
signs the next request. So the button sends the whole page to the path that expires that cookie
(the logout route of the bundled template), after telling Python to forget the user.

The bundle is built from ``frontend/`` and committed in ``component/``. Streamlit finds it through
the ``pyproject.toml`` shipped inside this package and serves it as static files; when the package
is imported without being installed (no manifest to discover), the same files are sent inline.

``session_guard()`` is the same component with nothing to show. Streamlit reads the ALB's identity
headers once, when the websocket opens, and the ALB never re-checks an open websocket, so a tab
stays "signed in" after its session ended elsewhere. The guard (one per browser tab in the bundle,
however many elements ask for it) asks the ALB instead; see its docstring.
"""

from __future__ import annotations

import logging
import re
import warnings
import weakref
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import streamlit as st
from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
from streamlit.errors import StreamlitAPIException
from streamlit.string_util import validate_icon_or_emoji

from streamlit_alb_auth.errors import UnsafeLogoutPathError
from streamlit_alb_auth.session import SESSION_STATE_KEY, VERIFIED_FOR_KEY
from streamlit_alb_auth.templates.logout_lambda import LOGOUT_PATH

if TYPE_CHECKING:
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.components.v2.types import ComponentRenderer

__all__ = [
    "COMPONENT_NAME",
    "GUARD_COMPONENT_NAME",
    "UnsafeLogoutPathError",
    "check_logout_path",
    "logout_button",
    "session_guard",
]

# "<[project] name>.<component name>" from the package's own pyproject.toml. One component for the
# button and the guard: Streamlit loads a component's module from a URL named after the component,
# so two names would load the bundle twice and run two guards in one tab.
COMPONENT_NAME = "streamlit-alb-auth.logout_button"
GUARD_COMPONENT_NAME = COMPONENT_NAME
BUTTON_TYPES = ("secondary", "primary", "tertiary")
DEFAULT_INTERVAL = 60.0
MIN_INTERVAL = 1.0
# Streamlit's own small JSON endpoint, fetched by its frontend on every (re)connect: present in
# every Streamlit version this package supports, cheap (no script run), free of side effects, and
# behind the ALB's authenticate rule like every app path. Never the health check: the templates
# and the stand-in exempt that from sign-in, so it would say "alive" to a signed-out browser.
PROBE_PATH = "_stcore/host-config"
HEALTH_PATH = "_stcore/health"
_JS, _CSS = "index.js", "style.css"
_TRIGGER = "logout"

# One leading "/" (never "//" or "/\", which browsers read as another host), then only the
# characters RFC 3986 allows unescaped in a path, query or fragment: no whitespace, control
# characters, backslashes or non-ASCII. The bundle checks the same rule before navigating.
_SAFE_PATH = re.compile(r"/(?![/\\])[\w\-.~!$&'()*+,;=:@/?#%]*", re.ASCII)

_LOGGER = logging.getLogger("streamlit_alb_auth")
# process-wide: listed in caches.py
_RENDERERS: weakref.WeakKeyDictionary[BidiComponentManager, dict[str, ComponentRenderer]] = (
    weakref.WeakKeyDictionary()
)


def check_logout_path(path: object) -> str:
    """Return ``path`` if it is a same-origin absolute path, else raise ``UnsafeLogoutPathError``.

    The path ends up in ``location.assign``; a scheme (``javascript:``), a host (``//evil``,
    ``/\\evil``) or an absolute URL there would turn the button into an open redirect.
    """
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path):
        raise UnsafeLogoutPathError(
            f"logout_button path must be a path on this site such as {LOGOUT_PATH!r}: one "
            "leading '/', no scheme or host, no backslash, whitespace or control characters; "
            f"got {path!r}"
        )
    return path


def _forget_user() -> None:
    st.session_state.pop(SESSION_STATE_KEY, None)
    st.session_state.pop(VERIFIED_FOR_KEY, None)


def forget_renderers() -> None:
    """Define the component again on next use (``caches.clear_all``)."""
    _RENDERERS.clear()


def inline_asset(name: str) -> str:
    # A leading comment line keeps Streamlit from mistaking one-line minified code for a path.
    text = resources.files("streamlit_alb_auth").joinpath("component", name).read_text("utf-8")
    return f"/* streamlit-alb-auth {name} */\n{text}"


def _renderer(name: str) -> ComponentRenderer:
    """The mount function of ``name``, defined once per running app's component manager.

    Not at import: the manifest lives on the running app's manager, which does not exist yet then
    (and AppTest makes a new one per test). Not on every rerun either: defining resolves the asset
    files on disk, about 0.3 ms a rerun that the registration already remembers.
    """
    renderers = _RENDERERS.setdefault(get_bidi_component_manager(), {})
    renderer = renderers.get(name)
    if renderer is None:
        renderer = renderers[name] = _define(name)
    return renderer


def _define(name: str) -> ComponentRenderer:
    try:
        return st.components.v2.component(name, js=_JS, css=_CSS)
    except StreamlitAPIException:
        _LOGGER.debug("%s has no discovered asset_dir; sending its bundle inline", name)
        return st.components.v2.component(name, js=inline_asset(_JS), css=inline_asset(_CSS))


def _app_path(tail: str) -> str:
    """``tail`` under ``server.baseUrlPath``, where Streamlit serves it."""
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/{tail}" if base else f"/{tail}"


def guard_data(
    interval: float, signed_out_url: str | None, probe_path: str | None, *, explicit: bool
) -> dict[str, Any]:
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise TypeError(f"session_guard interval must be a number of seconds; got {interval!r}")
    if not (interval == 0 or MIN_INTERVAL <= interval <= 86_400):
        raise ValueError(
            f"session_guard interval must be 0 (no polling) or {MIN_INTERVAL:g} to 86400 seconds; "
            f"got {interval!r}"
        )
    probe = check_logout_path(_app_path(PROBE_PATH) if probe_path is None else probe_path)
    if probe.split("?", 1)[0].split("#", 1)[0].rstrip("/").endswith(HEALTH_PATH):
        raise ValueError(
            "session_guard probe_path must pass the ALB's authenticate rule; the health check is "
            "exempt from sign-in, so it would never see a session end"
        )
    return {
        "interval": float(interval),
        "probe": probe,
        "signedOut": None if signed_out_url is None else check_logout_path(signed_out_url),
        "explicit": explicit,
    }


def session_guard(
    *,
    interval: float = DEFAULT_INTERVAL,
    signed_out_url: str | None = None,
    probe_path: str | None = None,
    key: str | None = None,
) -> None:
    """Send this browser tab away as soon as its ALB session has ended (logout elsewhere, expiry).

    Renders nothing and verifies nothing (no identity settings: the ALB answers the probe). In the
    browser, one guard runs per tab however many elements ask for it (a ``logout_button`` brings one;
    a ``session_guard`` call's settings win over the button's):

    - a ``logout_button`` click in another tab of this origin tells this one at once (a
      ``BroadcastChannel``); the guard then probes until that logout has expired the cookies,
      and leaves;
    - when the tab becomes visible or focused, every ``interval`` seconds (jittered by +/-20%;
      never while the tab is hidden), and when Streamlit is reconnecting its websocket, it fetches
      ``probe_path`` with ``redirect: "manual"``, ``cache: "no-store"`` and the cookies. An opaque
      redirect, 401 or 403 means the ALB session is gone: the tab goes to ``signed_out_url``. Any
      other answer below 500 means the ALB let the request through. A 5xx, network error or
      timeout is not a logout: it retries after 5 s, doubling up to 5 min.

    At the default interval a visible tab makes about 60 requests an hour (the focus and
    reconnect probes come on top, at most one a second).

    Parameters
    ----------
    interval : float
        Seconds between probes, 0 to probe only on focus, visibility and reconnects; otherwise
        1 to 86400.
    signed_out_url : str or None
        Same-origin path a signed-out tab goes to, such as ``"/signed-out"`` (the templates'
        signed-out page). ``None`` reloads the page, so the ALB asks the user to sign in.
    probe_path : str or None
        Same-origin path to probe. It must pass the ALB's authenticate rule, so never the health
        check (refused). ``None`` uses Streamlit's ``/_stcore/host-config`` under
        ``server.baseUrlPath``.
    key : str or None
        Element key, needed only for two guards with the same arguments on one page.

    Raises
    ------
    UnsafeLogoutPathError
        If ``signed_out_url`` or ``probe_path`` is not a same-origin path.
    ValueError
        If ``interval`` is out of range or ``probe_path`` is the health check.

    Examples
    --------
    >>> import streamlit as st
    >>> from streamlit_alb_auth import get_alb_user, session_guard
    >>> user = get_alb_user()
    >>> session_guard(interval=30, signed_out_url="/signed-out")
    """
    data = guard_data(interval, signed_out_url, probe_path, explicit=True)
    _renderer(COMPONENT_NAME)(key=key, data={"guard": data}, width="content", height="content")


def logout_button(
    label: str = "Log out",
    *deprecated_positional: str,
    logout_path: str = LOGOUT_PATH,
    key: str | None = None,
    help: str | None = None,
    type: Literal["secondary", "primary", "tertiary"] = "secondary",
    icon: str | None = None,
    width: Literal["content", "stretch"] = "content",
    guard: bool = True,
) -> bool:
    """Show a button that signs the user out of the app and of the ALB, in every tab.

    A click clears ``st.session_state[SESSION_STATE_KEY]``, tells the app's other tabs in this
    browser, and sends the whole page (not an iframe: the component is rendered in the page) to
    ``logout_path``, which should be the ALB rule that expires the ALB session cookies and redirects to
    Cognito's ``/logout``. The button brings a ``session_guard()`` with its defaults (call
    ``session_guard`` yourself for other settings; its settings win). It takes no identity settings
    and verifies nothing: it works under whatever settings ``get_alb_user(...)`` was given.

    Parameters
    ----------
    label : str
        The button's visible text, which is also its accessible name (first, as in ``st.button``).
    logout_path : str, keyword-only
        Same-origin path to navigate to, starting with a single ``/``. Anything else raises
        ``UnsafeLogoutPathError`` (a ``ValueError``) before the button is rendered. (The old order,
        ``logout_button(path, label)``, still works in this release, with a ``DeprecationWarning``.)
    key : str or None
        Widget key, needed only for two logout buttons with the same arguments.
    help : str or None
        Tooltip shown on hover and on keyboard focus, like ``st.button``'s.
    type : "secondary", "primary" or "tertiary"
        The look of ``st.button`` of the same type.
    icon : str or None
        As ``st.button``'s: one emoji, or a Material Symbol such as ``":material/logout:"``.
    width : "content" or "stretch"
        Size the button to its label, or to the width of its container.
    guard : bool
        Also run the session guard in this tab (``False`` to leave it out).

    Returns
    -------
    bool
        ``True`` in the rerun caused by a click (if the page has not already left).

    Examples
    --------
    >>> import streamlit as st
    >>> from streamlit_alb_auth import get_alb_user, logout_button
    >>> user = get_alb_user()
    >>> with st.sidebar:
    ...     st.write(user.email)
    ...     logout_button(icon=":material/logout:", help="Ends your session in every tab")
    """
    label, path = _label_and_path(label, deprecated_positional, logout_path)
    check_logout_path(path)
    if not isinstance(label, str) or not label.strip():
        raise ValueError("logout_button label must be a non-empty string")
    if help is not None and not isinstance(help, str):
        raise TypeError(f"logout_button help must be a string or None; got {help!r}")
    if type not in BUTTON_TYPES:
        raise ValueError(f"logout_button type must be one of {BUTTON_TYPES}; got {type!r}")
    if width not in ("content", "stretch"):
        raise ValueError(f"logout_button width must be 'content' or 'stretch'; got {width!r}")

    button = {
        "path": path,
        "label": label,
        "help": help or None,
        "stretch": width == "stretch",
        "type": type,
        "icon": validate_icon_or_emoji(icon),
    }
    data: dict[str, Any] = {"button": button}
    if guard:
        data["guard"] = guard_data(DEFAULT_INTERVAL, None, None, explicit=False)
    result = _renderer(COMPONENT_NAME)(key=key, data=data, width=width, on_logout_change=_forget_user)
    return bool(getattr(result, _TRIGGER, None))


def _label_and_path(label: str, rest: tuple[str, ...], logout_path: str) -> tuple[str, str]:
    """``(label, path)``; the old path-first call, ``(path)`` or ``(path, label)``, for one release."""
    if len(rest) > 1:
        raise TypeError("logout_button takes one positional argument, the label")
    if not rest and not (isinstance(label, str) and label[:1] == "/" and " " not in label):
        return label, logout_path
    message = "logout_button(path, label) is deprecated: write logout_button(label, logout_path=path)"
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    return (rest[0] if rest else "Log out"), label
