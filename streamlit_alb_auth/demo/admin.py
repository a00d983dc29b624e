"""The demo's admin page: declared with ``Page("admin.py", groups=["admin"])``, so only admins reach it."""

from __future__ import annotations

import streamlit as st

from streamlit_alb_auth import get_alb_user

user = get_alb_user()

st.title("Admin area")
st.success(
    "Only members of the `admin` group can open this page: it is missing from everyone else's menu, "
    'and its URL shows them "not allowed" without running this script. The group comes from the '
    "verified access token's `cognito:groups`, never from anything the browser can set.",
    icon=":material/shield_person:",
)
st.code('Page("admin.py", title="Admin", groups=["admin"])', language="python")
st.subheader("Your verified groups")
st.write(list(user.groups))
