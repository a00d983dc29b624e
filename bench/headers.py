"""``authenticate_headers()`` per request, outside Streamlit, against the verifier's own cached check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamlit_alb_auth import authenticate_headers
from streamlit_alb_auth.testing import LocalAlbSigner, LocalKeyServer, reset_state
from streamlit_alb_auth.verify import AlbJwtVerifier

if TYPE_CHECKING:
    from bench.run import Counts, Figure

CLAIMS = {"sub": "4b1f0c2e-9d1a-4e55-8f6a-1c2d3e4f5a6b", "email": "ada@example.com"}


def bench_authenticate_headers(counts: Counts) -> Figure:
    from bench.run import Figure, interleaved, per_op

    signer = LocalAlbSigner()
    reset_state()
    with LocalKeyServer(signer) as server:
        settings = {"alb_arn": signer.alb_arn, "key_url": server.alb_key_url}
        headers = signer.headers(CLAIMS)
        verifier = AlbJwtVerifier(alb_arn=signer.alb_arn, key_url=server.alb_key_url)
        verifier.verify(headers["x-amzn-oidc-data"])
        authenticate_headers(headers, **settings)
        n = counts.cached_ops

        def door(_: int) -> float:
            return per_op(lambda: [verifier.verify(headers["x-amzn-oidc-data"]) for _ in range(n)], n)

        def ours(_: int) -> float:
            return per_op(lambda: [authenticate_headers(headers, **settings) for _ in range(n)], n)

        base, cand = interleaved(door, ours, counts.rounds)
    reset_state()
    return Figure(
        "authenticate_headers() per request, same token",
        cand / base,
        "x",
        "AlbJwtVerifier.verify, same token",
        "< 50 us",
        cand < 50e-6,
        {"ours_us": cand * 1e6, "baseline_us": base * 1e6},
    )
