"""The architecture holds: a pure core, one HTTP client layer, Gradio only in the UI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "playground"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules(folder: str = "") -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: p.name)
def test_core_is_pure(path: Path) -> None:
    """The core does no I/O of its own: no HTTP, no UI, no media, no server."""
    assert not imports_of(path) & {"httpx", "gradio", "av", "PIL", "fastapi", "starlette", "sqlite3", "uvicorn"}


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_client_speaks_http_and_only_the_ui_imports_gradio(path: Path) -> None:
    """httpx lives in playground/client; gradio in playground/ui (and the server that mounts it)."""
    relative = path.relative_to(PACKAGE).as_posix()
    found = imports_of(path)
    if "httpx" in found:
        assert relative.startswith("client/"), relative
    if "gradio" in found:
        assert relative.startswith("ui/") or relative == "server.py", relative


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_one_reads_the_environment_directly(path: Path) -> None:
    """Configuration arrives through Settings; no module reaches into os.environ itself."""
    assert "os.environ" not in path.read_text("utf-8"), path
