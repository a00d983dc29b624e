"""The page guard: ``navigation()`` on a rerun against ``st.navigation`` with the same pages, same process."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from unittest import mock

from streamlit_alb_auth.testing import LocalAlbSigner, LocalCognitoPool, LocalKeyServer

if TYPE_CHECKING:
    from bench.run import Counts, Figure

# Each side builds its pages and its menu, as an entrypoint does on every rerun.
NAVIGATION_SCRIPT = """
import time

import streamlit as st
from streamlit_alb_auth import Page, get_alb_user, navigation

user = get_alb_user(headers=st.session_state["bench_headers"])
ops = st.session_state["bench_ops"]
rounds = st.session_state["bench_rounds"]


def home():
    pass


def reports():
    pass


def admin():
    pass


def plain():
    return st.navigation(
        [st.Page(home, title="Home"), st.Page(reports, title="Reports"), st.Page(admin, title="Admin")]
    )


def guarded():
    return navigation(
        [
            st.Page(home, title="Home"),
            Page(reports, title="Reports", groups=["staff", "admin"]),
            Page(admin, title="Admin", groups=["admin"]),
        ],
        user=user,
    )


def per_op(build):
    start = time.perf_counter()
    for _ in range(ops):
        build()
    return (time.perf_counter() - start) / ops


base, cand = [], []
for _ in range(rounds):
    base.append(per_op(plain))
    cand.append(per_op(guarded))
st.session_state["bench_result"] = (sorted(base)[len(base) // 2], sorted(cand)[len(cand) // 2])
"""

USER = {"sub": "4b1f0c2e-9d1a-4e55-8f6a-1c2d3e4f5a6b", "email": "ada@example.com"}


def bench_page_guard(counts: Counts) -> Figure:
    from streamlit.testing.v1 import AppTest

    from bench.run import Figure

    signer, pool = LocalAlbSigner(), LocalCognitoPool()
    ops = max(counts.rerun_ops // 10, 2)
    results = {}
    with LocalKeyServer(signer, pools=[pool]) as server:
        settings = {
            "ALB_AUTH_ALB_ARN": signer.alb_arn,
            "ALB_AUTH_CLIENT_ID": signer.client_id,
            "ALB_AUTH_KEY_URL": server.alb_key_url,
            "ALB_AUTH_USER_POOL_ID": pool.user_pool_id,
            "ALB_AUTH_JWKS_URL": server.jwks_url,
        }
        # A member gets the pages themselves; an outsider gets a refusal stand-in built for each.
        for who, groups in (("member", ["admin"]), ("outsider", [])):
            access = pool.access_token(USER["sub"], groups=groups)
            with mock.patch.dict(os.environ, settings):
                at = AppTest.from_string(NAVIGATION_SCRIPT)
                at.session_state["bench_headers"] = signer.headers(USER, access_token=access)
                at.session_state["bench_ops"] = ops
                at.session_state["bench_rounds"] = counts.rounds
                at.run(timeout=300)
            if at.exception:
                raise RuntimeError(at.exception[0].message)
            results[who] = at.session_state["bench_result"]
    worst = max(results, key=lambda who: results[who][1] / results[who][0])
    base, cand = results[worst]
    ratio = cand / base
    details = {f"{who}_us": cand_s * 1e6 for who, (_, cand_s) in results.items()}
    details.update({f"{who}_baseline_us": base_s * 1e6 for who, (base_s, _) in results.items()})
    return Figure(
        "navigation() on a rerun, 2 of 3 pages gated",
        ratio,
        "x",
        "st.navigation, same pages",
        # An outsider pays one more st.Page (the refusal stand-in) per refused page.
        "<= 3x and < 1 ms",
        ratio <= 3 and cand < 1e-3,
        {"ours_us": cand * 1e6, "worst_for": worst, **details},
    )
