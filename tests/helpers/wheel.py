"""What a copy of the checkout for a build leaves out."""

from __future__ import annotations

import shutil

# Everything a build could need, nothing that is local state or big.
IGNORE = shutil.ignore_patterns(
    *(".git", "node_modules", "__pycache__", "*.egg-info", "build", "dist", ".*_cache", ".hypothesis"),
    *(".tools", ".venv"),  # the test tools' environment, and a virtual environment made in the checkout
)
