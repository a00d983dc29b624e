"""The package's modules form layers: each imports only modules below it, and the settings are a leaf.

Read from the source (every ``import``, at module level or inside a function, but not the ones under
``if TYPE_CHECKING:``), so a new upward import fails here rather than in a reader's head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "streamlit_alb_auth"
LEAVES = {"errors", "urls", "alb_arn", "cognito"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts) or "__init__"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("streamlit_alb_auth"):
            base = node.module.removeprefix("streamlit_alb_auth").lstrip(".")
            names = [alias.name for alias in node.names] if not base else [""]
            for name in names:
                found.add(".".join(part for part in (base, name) if part))
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.removeprefix("streamlit_alb_auth.")
                for alias in node.names
                if alias.name.startswith("streamlit_alb_auth.")
            )
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for target in _imports(path):
            while target and target not in modules:  # `from pkg import name`: the module is pkg
                target = target.rpartition(".")[0]
            if target and target != name and target != "__init__":
                targets.add(target)
        graph[name] = targets
    return graph


GRAPH = _graph()


def _rooms() -> dict[str, set[str]]:
    """The graph between rooms: a top-level module, or a subpackage taken whole (``asgi``, ``doctor``)."""
    rooms: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        room = name.split(".")[0]
        rooms.setdefault(room, set()).update(target.split(".")[0] for target in targets)
        rooms[room].discard(room)
    return rooms


def test_no_module_imports_upward():
    """The import graph has no cycle, so the modules can be read bottom-up, each needing only lower ones."""
    rooms = _rooms()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join((*path[path.index(name) :], name)))
        if name in done:
            return
        for target in sorted(rooms[name]):
            visit(target, (*path, name))
        done.add(name)

    for module in sorted(rooms):
        visit(module, ())


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_the_leaves_import_only_the_errors(leaf):
    assert GRAPH[leaf] <= {"errors"}


def test_the_settings_module_is_a_leaf_over_the_leaves():
    assert GRAPH["config"] <= LEAVES


def test_the_user_is_pure_data_over_the_settings():
    assert GRAPH["user"] <= {"config"}


@pytest.mark.parametrize(
    ("module", "below"),
    [
        ("authenticate", {"session", "asgi.middleware", "authz", "logout"}),
        ("session", {"authz", "logout", "asgi.middleware"}),
        ("oidc_metadata", {"access_token", "authenticate"}),
        ("verify", {"authenticate", "session"}),
    ],
)
def test_a_lower_module_never_imports_a_higher_one(module, below):
    assert not GRAPH[module] & below


def test_no_test_imports_a_private_name_of_the_package():
    """Tests use the public names (and ``testing.reset_state()``), so internals can move freely."""
    private = []
    for path in Path(__file__).resolve().parents[1].rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("streamlit_alb_auth"):
                names = [alias.name for alias in node.names]
                private += [f"{path.name}: {name}" for name in names if name.startswith("_")]
    assert private == []
