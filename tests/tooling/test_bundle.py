"""The committed component bundle (logout_button and session_guard): built from frontend/ as it is
now, small, and findable."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from streamlit_alb_auth.logout import COMPONENT_NAME, GUARD_COMPONENT_NAME

REPO = Path(__file__).resolve().parents[2]
FRONTEND = REPO / "frontend"
PACKAGE = REPO / "streamlit_alb_auth"
BUNDLE = PACKAGE / "component"
MAX_GZIPPED_BYTES = 3 * 1024


def _bundle_files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


@pytest.mark.slow
def test_committed_bundle_matches_a_fresh_build(tmp_path):
    npm = shutil.which("npm")
    assert npm, "npm is needed to rebuild the bundle"
    assert (FRONTEND / "node_modules" / "esbuild").is_dir(), (
        "frontend dependencies are missing: run `npm ci --prefix frontend` first"
    )
    subprocess.run(
        [npm, "run", "--silent", "build", "--", "--outdir", str(tmp_path)],
        cwd=FRONTEND,
        check=True,
        timeout=120,
    )
    fresh, committed = _bundle_files(tmp_path), _bundle_files(BUNDLE)
    assert set(fresh) == set(committed) == {"index.js", "style.css"}
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, (
        f"{stale} in streamlit_alb_auth/component/ are stale: run `npm run --prefix frontend build`"
    )


@pytest.mark.slow
def test_frontend_type_checks():
    assert (FRONTEND / "node_modules" / "typescript").is_dir(), "run `npm ci --prefix frontend`"
    subprocess.run(
        [shutil.which("npm") or "npm", "run", "--silent", "typecheck"], cwd=FRONTEND, check=True, timeout=120
    )


def gzipped_size() -> int:
    """Bytes of the whole bundle, each file gzipped as a server would send it."""
    files = _bundle_files(BUNDLE)
    assert files, "no bundle committed in streamlit_alb_auth/component/"
    return sum(len(gzip.compress(data, compresslevel=9, mtime=0)) for data in files.values())


def test_bundle_is_under_3_kb_gzipped():
    size = gzipped_size()
    assert size < MAX_GZIPPED_BYTES, f"bundle is {size} bytes gzipped"


def test_inner_pyproject_names_the_distribution_and_asset_dir():
    manifest = tomllib.loads((PACKAGE / "pyproject.toml").read_text("utf-8"))
    components = manifest["tool"]["streamlit"]["component"]["components"]
    assert manifest["project"]["name"] == "streamlit-alb-auth"
    names = {f"{manifest['project']['name']}.{component['name']}" for component in components}
    # One component for both: Streamlit loads a module per component name, and each module runs
    # its own guard, so a page with a button and a guard must load it once.
    assert names == {COMPONENT_NAME} == {GUARD_COMPONENT_NAME}
    assert {(PACKAGE / component["asset_dir"]).resolve() for component in components} == {BUNDLE}
