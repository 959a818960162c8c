"""The one server: the UI at ``/``, the sandbox at ``/sandbox``, a health check at ``/healthz``."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI

from playground.core.profile import load_profile
from playground.sandbox import SandboxConfig, activate_sandbox, close_sandbox, create_sandbox, mount
from playground.settings import Settings
from playground.ui.app import build_ui
from playground.ui.services import Services
from playground.ui.style import CSS, HEAD, THEME


def local_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def browser_secret(data_dir: Path) -> str:
    """The key that encrypts each browser's id in its storage; kept so ids survive restarts."""
    path = data_dir / "browser-state.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), "utf-8")
        path.chmod(0o600)
    return path.read_text("utf-8").strip()


def create_app(settings: Settings) -> FastAPI:
    """Build the whole application; nothing is started or bound here."""
    profile = load_profile(settings.profile)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sandbox = create_sandbox(SandboxConfig.from_settings(settings))
    services = Services(
        settings, profile, f"{local_url(settings)}/sandbox", settings.data_dir, browser_secret(settings.data_dir)
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Tasks and runs left unfinished by a crash or a restart carry on before anyone asks.
        activate_sandbox(sandbox)
        resumed = await services.board.resume_unfinished(services.ledger(), settings)
        if resumed:
            print(f"resumed {len(resumed)} unfinished run(s)", flush=True)
        yield
        await close_sandbox(sandbox)

    app = FastAPI(title="Wan 2.7 Video Playground", docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "provider": settings.provider, "profile": profile.name}

    mount(app, sandbox)
    demo = build_ui(services).queue(default_concurrency_limit=None)
    mounted: FastAPI = gr.mount_gradio_app(
        app,
        demo,
        path="",
        footer_links=["api", "settings"],
        # Run history would copy every input, API keys included, into the browser's storage.
        run_history=False,
        allowed_paths=[str(settings.data_dir.resolve())],
        max_file_size=settings.max_upload_mb * gr.FileSize.MB,
        theme=THEME,
        css=CSS,
        head=HEAD,
        show_error=False,
        auth=settings.auth_pair(),
    )
    return mounted


def serve(settings: Settings) -> None:
    """Serve until interrupted."""
    print(f"Wan 2.7 playground on {local_url(settings)} (provider: {settings.provider})", flush=True)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")
