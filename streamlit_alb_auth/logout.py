"""``logout_button()``: a Streamlit-styled button that ends the ALB session, not just the page.

Clearing ``st.session_state`` alone logs nobody out: the ALB still holds its session cookie and
signs the next request. So the button sends the whole page to the path that expires that cookie
(the logout route of the bundled template), after telling Python to forget the user.

The bundle is built from ``frontend/`` and committed in ``component/``. Streamlit finds it through
the ``pyproject.toml`` shipped inside this package and serves it as static files; when the package
is imported without being installed (no manifest to discover), the same files are sent inline.
"""

from __future__ import annotations

import logging
import re
import weakref
from importlib import resources
from typing import TYPE_CHECKING, Literal

import streamlit as st
from streamlit.components.v2.get_bidi_component_manager import get_bidi_component_manager
from streamlit.errors import StreamlitAPIException

from streamlit_alb_auth.errors import UnsafeLogoutPathError
from streamlit_alb_auth.user import SESSION_STATE_KEY

if TYPE_CHECKING:
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.components.v2.types import ComponentRenderer

__all__ = ["COMPONENT_NAME", "UnsafeLogoutPathError", "check_logout_path", "logout_button"]

# "<[project] name>.<component name>" from the package's own pyproject.toml.
COMPONENT_NAME = "streamlit-alb-auth.logout_button"
_JS, _CSS = "index.js", "style.css"
_TRIGGER = "logout"

# One leading "/" (never "//" or "/\", which browsers read as another host), then only the
# characters RFC 3986 allows unescaped in a path, query or fragment: no whitespace, control
# characters, backslashes or non-ASCII. The bundle checks the same rule before navigating.
_SAFE_PATH = re.compile(r"/(?![/\\])[\w\-.~!$&'()*+,;=:@/?#%]*", re.ASCII)

_LOGGER = logging.getLogger("streamlit_alb_auth")
_RENDERERS: weakref.WeakKeyDictionary[BidiComponentManager, ComponentRenderer] = weakref.WeakKeyDictionary()


def check_logout_path(path: object) -> str:
    """Return ``path`` if it is a same-origin absolute path, else raise ``UnsafeLogoutPathError``.

    The path ends up in ``location.assign``; a scheme (``javascript:``), a host (``//evil``,
    ``/\\evil``) or an absolute URL there would turn the button into an open redirect.
    """
    if not isinstance(path, str) or not _SAFE_PATH.fullmatch(path):
        raise UnsafeLogoutPathError(
            "logout_button path must be a path on this site such as '/cognito/logout': one "
            "leading '/', no scheme or host, no backslash, whitespace or control characters; "
            f"got {path!r}"
        )
    return path


def _forget_user() -> None:
    st.session_state.pop(SESSION_STATE_KEY, None)


def _inline(name: str) -> str:
    # A leading comment line keeps Streamlit from mistaking one-line minified code for a path.
    text = resources.files("streamlit_alb_auth").joinpath("component", name).read_text("utf-8")
    return f"/* streamlit-alb-auth {name} */\n{text}"


def _renderer() -> ComponentRenderer:
    """The mount function, defined once per running app's component manager.

    Not at import: the manifest lives on the running app's manager, which does not exist yet then
    (and AppTest makes a new one per test). Not on every rerun either: defining resolves the asset
    files on disk, about 0.3 ms a rerun that the registration already remembers.
    """
    manager = get_bidi_component_manager()
    renderer = _RENDERERS.get(manager)
    if renderer is None:
        renderer = _RENDERERS[manager] = _define()
    return renderer


def _define() -> ComponentRenderer:
    try:
        return st.components.v2.component(COMPONENT_NAME, js=_JS, css=_CSS)
    except StreamlitAPIException:
        _LOGGER.debug("%s has no discovered asset_dir; sending its bundle inline", COMPONENT_NAME)
        return st.components.v2.component(COMPONENT_NAME, js=_inline(_JS), css=_inline(_CSS))


def logout_button(
    path: str = "/cognito/logout",
    label: str = "Log out",
    *,
    key: str | None = None,
    help: str | None = None,
    width: Literal["content", "stretch"] = "content",
) -> bool:
    """Show a button that signs the user out of the app and of the ALB.

    A click clears ``st.session_state[SESSION_STATE_KEY]`` and sends the whole page (not an
    iframe: the component is rendered in the page) to ``path``, which should be the ALB rule that
    expires the ALB session cookies and redirects to Cognito's ``/logout``.

    Parameters
    ----------
    path : str
        Same-origin path to navigate to, starting with a single ``/``. Anything else raises
        ``UnsafeLogoutPathError`` (a ``ValueError``) before the button is rendered.
    label : str
        The button's visible text, which is also its accessible name.
    key : str or None
        Widget key, needed only for two logout buttons with the same arguments.
    help : str or None
        Tooltip shown on hover.
    width : "content" or "stretch"
        Size the button to its label, or to the width of its container.

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
    ...     logout_button()
    """
    check_logout_path(path)
    if not isinstance(label, str) or not label.strip():
        raise ValueError("logout_button label must be a non-empty string")
    if width not in ("content", "stretch"):
        raise ValueError(f"logout_button width must be 'content' or 'stretch'; got {width!r}")

    result = _renderer()(
        key=key,
        data={"path": path, "label": label, "help": help, "stretch": width == "stretch"},
        width=width,
        on_logout_change=_forget_user,
    )
    return bool(getattr(result, _TRIGGER, None))
