"""Benchmarks: each figure is a ratio against a baseline timed in the same process, interleaved.

    python -m bench                 # the full table
    python -m bench --quick         # tiny counts (what the test suite runs so this cannot rot)
    python -m bench --json out.json
    python -m bench --markdown docs/generated/benchmarks.md   # the docs site's table, stamped

Timings alternate baseline and candidate over several rounds and compare medians, so a noisy machine
moves both sides together.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gzip
import json
import platform
import statistics
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bench import markdown
from bench.asgi import bench_bearer_door, bench_middleware
from bench.authz import bench_page_guard
from bench.guard import bench_session_guard
from bench.headers import bench_authenticate_headers
from streamlit_alb_auth import errors
from streamlit_alb_auth.keys import AlbKeyStore
from streamlit_alb_auth.templates.logout_lambda import SESSION_COOKIE
from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer
from streamlit_alb_auth.verify import AlbJwtVerifier

REPO = Path(__file__).resolve().parent.parent
CLAIMS = {"sub": "4b1f0c2e-9d1a-4e55-8f6a-1c2d3e4f5a6b", "email": "ada@example.com", "username": "ada"}


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline: str = ""
    target: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Counts:
    rounds: int = 7
    verify_ops: int = 300
    cached_ops: int = 20_000
    rerun_ops: int = 5_000
    flood_tokens: int = 1_000
    threads: int = 64
    memory_items: int = 256
    proxy_requests: int = 400
    proxy_sessions: int = 50


QUICK = Counts(
    rounds=2,
    verify_ops=5,
    cached_ops=50,
    rerun_ops=20,
    flood_tokens=30,
    threads=8,
    memory_items=8,
    proxy_requests=10,
    proxy_sessions=3,
)


def interleaved(
    baseline: Callable[[int], float], candidate: Callable[[int], float], rounds: int
) -> tuple[float, float]:
    """Median seconds per op of each, timed alternately so drift hits both."""
    base, cand = [], []
    for _ in range(rounds):
        base.append(baseline(0))
        cand.append(candidate(0))
    return statistics.median(base), statistics.median(cand)


def per_op(run: Callable[[], None], ops: int) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / ops


def hand_written_verify(token: str, public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The floor: base64 + JSON + one ES256 verify with cryptography, no checks at all."""
    header, payload, signature = token.split(".")
    json.loads(base64.urlsafe_b64decode(header))
    claims = json.loads(base64.urlsafe_b64decode(payload))
    raw = base64.urlsafe_b64decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public_key.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    return claims


def bench_verification(counts: Counts) -> list[Figure]:
    signer = LocalAlbSigner()
    public_key = signer.private_key.public_key()
    figures: list[Figure] = []
    with LocalKeyServer(signer) as server:
        store = AlbKeyStore()
        verifier = AlbJwtVerifier(
            alb_arn=signer.alb_arn, client_id=signer.client_id, key_url=server.alb_key_url, key_store=store
        )
        verifier.verify(signer.sign(CLAIMS))  # the key is now cached: what is left is the per-token cost
        fresh = [signer.sign({**CLAIMS, "n": n}) for n in range(counts.verify_ops * counts.rounds * 2)]
        batches = iter([fresh[i : i + counts.verify_ops] for i in range(0, len(fresh), counts.verify_ops)])

        def raw_new(_: int) -> float:
            tokens = next(batches)
            return per_op(lambda: [hand_written_verify(t, public_key) for t in tokens], len(tokens))

        def ours_new(_: int) -> float:
            tokens = next(batches)
            return per_op(lambda: [verifier.verify(t) for t in tokens], len(tokens))

        base, cand = interleaved(raw_new, ours_new, counts.rounds)
        figures.append(
            Figure(
                "verify a new token, key cached",
                cand / base,
                "x",
                "hand-written cryptography verify",
                "<= 1.5x",
                cand / base <= 1.5,
                {"ours_us": cand * 1e6, "baseline_us": base * 1e6, "per_second": 1 / cand},
            )
        )

        pyjwt_tokens = fresh[: counts.verify_ops]

        def pyjwt_decode(_: int) -> float:
            return per_op(
                lambda: [jwt.decode(t, public_key, algorithms=["ES256"]) for t in pyjwt_tokens],
                len(pyjwt_tokens),
            )

        def raw_again(_: int) -> float:
            return per_op(
                lambda: [hand_written_verify(t, public_key) for t in pyjwt_tokens], len(pyjwt_tokens)
            )

        base_pyjwt, pyjwt_time = interleaved(raw_again, pyjwt_decode, counts.rounds)
        figures.append(
            Figure(
                "PyJWT jwt.decode(ES256), same tokens",
                pyjwt_time / base_pyjwt,
                "x",
                "hand-written cryptography verify",
                "(comparison)",
                None,
                {"pyjwt_us": pyjwt_time * 1e6, "ours_new_us": cand * 1e6},
            )
        )

        token = fresh[0]
        verifier.verify(token)

        def raw_same(_: int) -> float:
            n = max(counts.cached_ops // 50, 1)
            return per_op(lambda: [hand_written_verify(token, public_key) for _ in range(n)], n)

        def ours_same(_: int) -> float:
            n = counts.cached_ops
            return per_op(lambda: [verifier.verify(token) for _ in range(n)], n)

        base_same, cand_same = interleaved(raw_same, ours_same, counts.rounds)
        figures.append(
            Figure(
                "verify the same token again (rerun)",
                cand_same / base_same,
                "x",
                "hand-written cryptography verify",
                "<= 0.05x",
                cand_same / base_same <= 0.05,
                {"ours_us": cand_same * 1e6, "per_second": 1 / cand_same},
            )
        )
    return figures


def bench_concurrent_fetch(counts: Counts) -> Figure:
    signer = LocalAlbSigner()
    with LocalKeyServer(signer) as server:
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=server.alb_key_url, key_store=AlbKeyStore())
        tokens = [signer.sign({**CLAIMS, "n": n}) for n in range(counts.threads)]
        barrier = threading.Barrier(counts.threads)
        ok: list[bool] = []

        def worker(token: str) -> None:
            barrier.wait()
            ok.append(verifier.verify(token)["sub"] == CLAIMS["sub"])

        threads = [threading.Thread(target=worker, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        fetches = server.fetches()
    return Figure(
        f"key fetches, {counts.threads} threads on one new kid",
        fetches,
        "fetches",
        "",
        "exactly 1",
        fetches == 1 and all(ok) and len(ok) == counts.threads,
    )


def bench_kid_flood(counts: Counts) -> Figure:
    signer = LocalAlbSigner()
    with LocalKeyServer(signer) as server:
        store = AlbKeyStore()
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=server.alb_key_url, key_store=store)
        outcomes: dict[str, int] = {}
        start = time.perf_counter()
        for _ in range(counts.flood_tokens):
            try:
                verifier.verify(signer.sign(CLAIMS, header={"kid": str(uuid.uuid4())}))
            except errors.AlbAuthError as exc:
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
        elapsed = time.perf_counter() - start
        fetches = server.fetches()
    bound = store.max_fetches_per_minute * (1 + int(elapsed // 60))
    return Figure(
        f"key fetches, {counts.flood_tokens} tokens with random unknown kids",
        fetches,
        "fetches",
        "",
        f"<= {store.max_fetches_per_minute}/minute",
        fetches <= bound,
        {"outcomes": outcomes, "seconds": elapsed},
    )


def bench_memory(counts: Counts) -> list[Figure]:
    from streamlit_alb_auth.user import AlbUser

    signer = LocalAlbSigner()
    signers = [LocalAlbSigner(alb_arn=signer.alb_arn) for _ in range(counts.memory_items)]
    with LocalKeyServer(*signers) as server:
        store = AlbKeyStore(max_keys=counts.memory_items, max_fetches_per_minute=counts.memory_items)
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=server.alb_key_url, key_store=store)
        tokens = [s.sign(CLAIMS) for s in signers]
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for token in tokens:
            verifier.verify(token)
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
    # Keys and verified-token entries grew together; split by what each holds.
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    per_key_and_token = total / counts.memory_items

    users_claims = [
        {**CLAIMS, "sub": f"user-{n}", "email": f"user{n}@example.com"} for n in range(counts.memory_items)
    ]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    users = [AlbUser(claims) for claims in users_claims]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_user = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / len(users)
    return [
        Figure(
            "memory per cached key + verified token",
            per_key_and_token,
            "bytes",
            "",
            f"bounded: {store.max_keys} keys, {verifier._verified_cache_size} tokens",
            len(store) <= store.max_keys,
        ),
        Figure(
            "memory per signed-in session (AlbUser)",
            per_user,
            "bytes",
            "",
            "one AlbUser per session",
            None,
            {"note": "the verified claims; beside it in the session only a 64-character digest"},
        ),
    ]


RERUN_SCRIPT = """
import time
import streamlit as st
from streamlit_alb_auth import get_alb_user
from streamlit_alb_auth.session import SESSION_STATE_KEY

headers = st.session_state["bench_headers"]
ops = st.session_state["bench_ops"]
rounds = st.session_state["bench_rounds"]
get_alb_user(headers=headers)
base, cand = [], []
for _ in range(rounds):
    start = time.perf_counter()
    for _ in range(ops):
        st.session_state.get(SESSION_STATE_KEY)
    base.append((time.perf_counter() - start) / ops)
    start = time.perf_counter()
    for _ in range(ops):
        get_alb_user(headers=headers)
    cand.append((time.perf_counter() - start) / ops)
st.session_state["bench_result"] = (sorted(base)[len(base) // 2], sorted(cand)[len(cand) // 2])
"""


def bench_rerun(counts: Counts) -> Figure:
    import os

    from streamlit.testing.v1 import AppTest

    signer = LocalAlbSigner()
    with LocalKeyServer(signer) as server:
        settings = {"ALB_AUTH_ALB_ARN": signer.alb_arn, "ALB_AUTH_KEY_URL": server.alb_key_url}
        with mock.patch.dict(os.environ, settings):
            at = AppTest.from_string(RERUN_SCRIPT)
            at.session_state["bench_headers"] = signer.headers(CLAIMS)
            at.session_state["bench_ops"] = counts.rerun_ops
            at.session_state["bench_rounds"] = counts.rounds
            at.run(timeout=120)
        if at.exception:
            raise RuntimeError(at.exception[0].message)
        base, cand = at.session_state["bench_result"]
    # AppTest has no browser request, so the script passes headers=; in a served app get_alb_user reads
    # st.context.headers, which Streamlit rebuilds from the request on each access. Add that cost too.
    context_headers = context_headers_cost(signer.headers(CLAIMS), counts)
    with_context = cand + context_headers
    ratio = with_context / base
    return Figure(
        "get_alb_user() on a rerun, same headers",
        ratio,
        "x",
        "one st.session_state read",
        "<= 20x and < 50 us",
        ratio <= 20 and with_context < 50e-6,
        {
            "ours_us": with_context * 1e6,
            "headers_param_us": cand * 1e6,
            "st_context_headers_us": context_headers * 1e6,
            "baseline_us": base * 1e6,
        },
    )


def context_headers_cost(alb_headers: dict[str, str], counts: Counts) -> float:
    """Seconds to build st.context.headers from a realistic websocket request behind the ALB."""
    from streamlit.runtime.context import StreamlitHeaders

    request = [
        ("Host", "app.example.com"),
        ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Accept-Language", "en-US,en;q=0.9"),
        ("Cache-Control", "no-cache"),
        ("Connection", "Upgrade"),
        ("Cookie", f"{SESSION_COOKIE}-0=" + "a" * 3800 + f"; {SESSION_COOKIE}-1=" + "b" * 900),
        ("Origin", "https://app.example.com"),
        ("Pragma", "no-cache"),
        ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
        ("Upgrade", "websocket"),
        ("X-Amzn-Trace-Id", "Root=1-67891233-abcdef012345678912345678"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
        *alb_headers.items(),
    ]
    ops = counts.rerun_ops
    return statistics.median(
        per_op(lambda: [StreamlitHeaders(request).get("x-amzn-oidc-data") for _ in range(ops)], ops)
        for _ in range(counts.rounds)
    )


def bench_bundle() -> Figure:
    component = REPO / "streamlit_alb_auth" / "component"
    files = sorted(p for p in component.glob("*") if p.suffix in {".js", ".css"})
    raw = b"".join(p.read_bytes() for p in files)
    size = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    return Figure(
        "logout component bundle, gzipped",
        size,
        "bytes",
        "",
        "< 3072 bytes",
        0 < size < 3072,
        {"files": [p.name for p in files], "raw_bytes": len(raw)},
    )


def bench_proxy(counts: Counts) -> list[Figure]:
    try:
        from bench.proxy import measure_proxy
    except ImportError as exc:  # the [dev] extra (aiohttp) is missing
        return [Figure("local ALB stand-in latency", float("nan"), "x", details={"skipped": str(exc)})]
    return measure_proxy(counts.proxy_requests, counts.proxy_sessions, counts.rounds)


def run(counts: Counts, *, include_proxy: bool = True) -> list[Figure]:
    figures = bench_verification(counts)
    figures.append(bench_rerun(counts))
    figures.append(bench_authenticate_headers(counts))
    figures.append(bench_page_guard(counts))
    figures.extend(bench_session_guard(counts))
    figures.append(bench_middleware(counts))
    figures.append(bench_bearer_door(counts))
    figures.append(bench_concurrent_fetch(counts))
    figures.append(bench_kid_flood(counts))
    figures.extend(bench_memory(counts))
    if include_proxy:
        figures.extend(bench_proxy(counts))
    figures.append(bench_bundle())
    return figures


def format_table(figures: Sequence[Figure]) -> str:
    rows = [("figure", "measured", "baseline", "target", "met")]
    for f in figures:
        value = f"{f.value:.3f}{f.unit}" if f.unit == "x" else f"{f.value:,.0f} {f.unit}"
        if "p99_ms" in f.details:
            extra = f" (median {f.details['median_ms']:.1f} ms, p99 {f.details['p99_ms']:.1f} ms)"
        elif "ours_us" in f.details:
            extra = f" (ours {f.details['ours_us']:.1f} us)"
        else:
            extra = ""
        met = "-" if f.met is None else ("yes" if f.met else "NO")
        rows.append((f.name, value + extra, f.baseline, f.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmarks still run")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--no-proxy", action="store_true", help="skip the local ALB stand-in latency figures")
    parser.add_argument("--markdown", type=Path, help="also write the table as the docs site's Markdown here")
    args = parser.parse_args(argv)
    counts = QUICK if args.quick else Counts()
    where = markdown.environment()  # before the run: its load average says how busy the machine was
    figures = run(counts, include_proxy=not args.no_proxy)
    print(f"machine: {machine()}")
    print(format_table(figures))
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "figures": [asdict(f) for f in figures]}, indent=2)
        )
    if args.markdown:
        today = datetime.datetime.now(datetime.UTC).date()
        text = markdown.page(format_table(figures), where=where, when=today, quick=args.quick)
        args.markdown.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
