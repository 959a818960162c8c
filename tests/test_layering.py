"""The architecture holds: a pure core, one HTTP client layer, Gradio only in the UI, and each
package importing only the packages below it (core <- media <- client / sandbox <- ui <- server)."""

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


# The packages of playground each package may import besides itself. ``settings`` is the
# configuration every layer reads (it may read the core's facts). Top-level modules other than
# settings (server.py, cli.py, __main__.py, ...) are where the packages meet: they import anything.
ALLOWED = {
    "core": set(),
    "media": {"core"},
    "client": {"core", "media", "settings"},
    "sandbox": {"core", "media", "settings"},
    "web": {"core"},
    "ui": {"core", "media", "client", "web", "settings"},
    "settings": {"core"},
}


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def playground_imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each import of a playground module: its dotted name, and the names taken from it."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names if alias.name.split(".")[0] == "playground"]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; name the module in full"
            if node.module and node.module.split(".")[0] == "playground":
                found.append((node.module, tuple(alias.name for alias in node.names)))
    return found


def target_layer(module: str, names: tuple[str, ...]) -> set[str]:
    parts = module.split(".")
    if len(parts) > 1:
        return {parts[1]}
    # "from playground import x" names the layer x; a bare "import playground" (to find the
    # package's folder) reaches no layer.
    return set(names)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_package_imports_only_the_packages_below_it(path: Path) -> None:
    """core imports only core; media only core; client and sandbox core and media (never each
    other); web only core; ui core, media, client and web; the server and the CLI anything."""
    layer = layer_of(path)
    if layer not in ALLOWED:
        return  # a top-level composition module
    for module, names in playground_imports(path):
        for target in target_layer(module, names) - {layer}:
            assert target in ALLOWED[layer], f"{path.relative_to(PACKAGE)} imports {module} ({layer} -> {target})"


@pytest.mark.parametrize("path", [*modules("ui"), PACKAGE / "server.py"], ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_ui_and_the_server_use_the_client_only_through_its_facade(path: Path) -> None:
    """``from playground.client import X`` with X in its ``__all__``; never a module inside it."""
    import playground.client

    public = set(playground.client.__all__)
    for module, names in playground_imports(path):
        if module == "playground.client":
            assert set(names) <= public, f"{path.name} takes {set(names) - public} from playground.client"
        else:
            assert not module.startswith("playground.client."), f"{path.name} imports {module}"
            assert not (module == "playground" and "client" in names), f"{path.name} imports the client package"


def test_the_facade_lists_only_names_it_has() -> None:
    import playground.client

    assert len(set(playground.client.__all__)) == len(playground.client.__all__)
    assert all(hasattr(playground.client, name) for name in playground.client.__all__)


def test_the_rules_catch_a_wrong_import(tmp_path: Path) -> None:
    """The checks above see imports anywhere in a module, lazy ones in functions included."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def later():\n    from playground.sandbox.serve import MOUNT\n    from playground.client import runner\n"
    )
    assert playground_imports(sample) == [("playground.sandbox.serve", ("MOUNT",)), ("playground.client", ("runner",))]
    assert "runner" not in __import__("playground.client", fromlist=["__all__"]).__all__
