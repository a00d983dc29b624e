"""Demo: the verified ALB identity, groups, a page only the ``admin`` group can open, and a real logout.

Run it behind the local ALB stand-in (no AWS needed)::

    pip install "streamlit-alb-auth[dev]"
    streamlit-alb-auth dev

(``dev`` with no script runs ``./demo_app.py`` if the current folder has one, else this file; the
repository's top-level ``demo_app.py`` runs this file, the one copy of the demo.)
Sign in as ``admin@example.com`` to see the Admin page in the menu; ``user@example.com`` gets
"not allowed" at its URL (``/admin``).

Behind a real ALB, set ``ALB_AUTH_ALB_ARN`` (and the other ``ALB_AUTH_*`` settings) and
``COGNITO_USERINFO_URL=https://YOUR-COGNITO-DOMAIN/oauth2/userInfo``.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from streamlit_alb_auth import Page, get_alb_user, logout_button, navigation

st.set_page_config(page_title="streamlit-alb-auth demo", page_icon=":material/lock:", layout="wide")

user = get_alb_user(required=False)

if not user.is_logged_in:
    st.title("streamlit-alb-auth demo")
    st.warning(user.problem or "Nobody is signed in.", icon=":material/lock:")
    # `streamlit-alb-auth dev` tells its Streamlit the URL to open: here is its internal port.
    dev_url = os.environ.get("ALB_AUTH_DEV_URL")
    if dev_url:
        st.info(
            "This is the internal port of `streamlit-alb-auth dev`: Streamlit itself, with no sign-in in "
            f"front of it. Open **{dev_url}** to sign in through the local ALB stand-in.",
            icon=":material/login:",
        )
        st.stop()
    st.markdown(
        "This page shows the identity an AWS Application Load Balancer vouches for, so it only "
        "makes sense behind one. To try it without AWS, start it behind the local ALB stand-in:"
    )
    st.code('pip install "streamlit-alb-auth[dev]"\nstreamlit-alb-auth dev', language="bash")
    st.stop()

# Beside this file, not beside the entrypoint: the top-level demo_app.py runs this file.
PAGES = Path(__file__).parent

page = navigation(
    [
        st.Page(PAGES / "home.py", title="Home", icon=":material/home:"),
        Page(PAGES / "admin.py", title="Admin", icon=":material/shield_person:", groups=["admin"]),
    ],
    user=user,
)

with st.sidebar:
    st.caption("Signed in as")
    st.badge(user.email or user.sub or "", icon=":material/person:")
    st.caption("Groups: " + (", ".join(user.groups) or "none"))
    logout_button()

page.run()

st.divider()
st.caption("Sign-in, verified identity and logout by streamlit-alb-auth.")
