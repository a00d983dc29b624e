"""The session guard: Python cost of ``session_guard()`` on a rerun, and its requests per tab.

The Python side is timed against the same Components v2 element mounted straight, with the payload
already built, in the same process: the difference is the guard's own work (checking the interval
and paths, reading the base URL path).
The browser side is counted in ``tests/e2e/test_e2e_guard.py`` (one probe per jittered interval,
one poll loop per tab); here it is scaled to the default interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamlit_alb_auth.logout import DEFAULT_INTERVAL

if TYPE_CHECKING:
    from bench.run import Counts, Figure

# Every mount needs its own key, so each side numbers its elements.
GUARD_SCRIPT = """
import itertools
import time

import streamlit as st
from streamlit_alb_auth import session_guard
from streamlit_alb_auth.logout import GUARD_COMPONENT_NAME, _renderer

ops = st.session_state["bench_ops"]
rounds = st.session_state["bench_rounds"]
numbers = itertools.count()
payload = {"guard": {"interval": 60.0, "probe": "/_stcore/host-config", "signedOut": None, "explicit": True}}


def plain():
    mount = _renderer(GUARD_COMPONENT_NAME)
    mount(key=f"bare-{next(numbers)}", data=payload, width="content", height="content")


def guarded():
    session_guard(key=f"guard-{next(numbers)}")


def per_op(mount):
    start = time.perf_counter()
    for _ in range(ops):
        mount()
    return (time.perf_counter() - start) / ops


guarded()  # the first call defines the component, once per app
base, cand = [], []
for _ in range(rounds):
    base.append(per_op(plain))
    cand.append(per_op(guarded))
st.session_state["bench_result"] = (sorted(base)[len(base) // 2], sorted(cand)[len(cand) // 2])
"""


def bench_session_guard(counts: Counts) -> list[Figure]:
    from streamlit.testing.v1 import AppTest

    from bench.run import Figure

    at = AppTest.from_string(GUARD_SCRIPT)
    at.session_state["bench_ops"] = max(counts.rerun_ops // 50, 2)
    at.session_state["bench_rounds"] = counts.rounds
    at.run(timeout=300)
    if at.exception:
        raise RuntimeError(at.exception[0].message)
    base, cand = at.session_state["bench_result"]
    ratio = cand / base
    per_hour = 3600 / DEFAULT_INTERVAL  # the +/-20% jitter averages out
    return [
        Figure(
            "session_guard() on a rerun",
            ratio,
            "x",
            "same element, payload prebuilt",
            "<= 1.5x and < 1 ms",
            ratio <= 1.5 and cand < 1e-3,
            {"ours_us": cand * 1e6, "baseline_us": base * 1e6},
        ),
        Figure(
            "session guard probes per visible tab per hour",
            per_hour,
            "requests",
            "",
            "<= 60",
            per_hour <= 60,
            {
                "interval_s": DEFAULT_INTERVAL,
                "counted_in": "tests/e2e/test_e2e_guard.py (5 probes in 10 s at interval=2 s)",
                "plus": "one probe per focus/visibility change or Streamlit reconnect, at most 1 a second",
                "hidden_tab": 0,
            },
        ),
    ]
