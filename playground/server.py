"""The one server: the UI at ``/``, the sandbox at ``/sandbox``, a health check at ``/healthz``.

Around them: the browser-identity cookie, body limits, a login throttle and security headers
(playground/web); signed links to run videos at ``/media``; and a retention sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import gradio as gr
import uvicorn
from fastapi import FastAPI

from playground.client import LEDGER_FILE, LEGACY_LEDGER_FILE, open_showcase, server_policy
from playground.core.profile import load_profile
from playground.core.signing import is_sandbox_key
from playground.sandbox import SandboxConfig, activate_sandbox, close_sandbox, create_sandbox, mount
from playground.sandbox.app import runtime_of
from playground.settings import Settings
from playground.showcase_sources import GradioLogin, ShowcaseSources
from playground.ui.access import ACCESS_CSS, ACCESS_HEAD
from playground.ui.app import build_ui
from playground.ui.history_views import video_of
from playground.ui.services import Services
from playground.ui.shot_editor import CARET_HEAD
from playground.ui.style import CSS, HEAD, THEME
from playground.web.guards import BodyGuard, BodyLimits, LoginThrottle, SecurityHeaders
from playground.web.identity import BrowserIdentity
from playground.web.media import media_route
from playground.web.retention import prune
from playground.web.showcase import showcase_routes

log = logging.getLogger(__name__)
_SWEEP_EVERY_S = 3600.0
_HANDOUT_MAX_AGE_S = 24 * 3600.0  # staging copies: Gradio has its own copy within seconds


def local_url(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def server_secret(data_dir: Path) -> bytes:
    """The secret that signs browser cookies, sandbox keys and media links; it never leaves the server.

    Kept in the data directory (mode 0600, never served) so cookies and keys survive restarts.
    """
    path = data_dir / "server-secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), "utf-8")
        path.chmod(0o600)
    return path.read_text("utf-8").strip().encode()


def _sandbox_config(settings: Settings, secret: bytes) -> SandboxConfig:
    config = SandboxConfig.from_settings(settings)
    # Mounted in a deployed app: no Swagger page (it loads scripts from a CDN), and with a login
    # on, only keys this server issued, so the sandbox is no way around the login.
    accept = (lambda key: is_sandbox_key(secret, key)) if settings.auth_pair() else None
    return dataclasses.replace(config, docs=False, accept_key=accept)


async def _sweep(services: Services, gradio_cache: Path | None) -> None:
    settings = services.settings
    while True:
        if settings.retention_days > 0:
            age = settings.retention_days * 86400.0
            folders = [services.runs_dir, services.data_dir / "bundles"]
            removed = await asyncio.to_thread(prune, folders, max_age_s=age)
            if gradio_cache is not None:
                removed += await asyncio.to_thread(prune, [gradio_cache], max_age_s=age)
            if removed:
                log.info("retention: removed %d old item(s)", removed)
        await asyncio.to_thread(prune, [services.handout.root], max_age_s=_HANDOUT_MAX_AGE_S)
        await asyncio.sleep(_SWEEP_EVERY_S)


def create_app(settings: Settings) -> FastAPI:
    """Build the whole application; nothing is started or bound here."""
    profile = load_profile(settings.profile)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = server_secret(settings.data_dir)
    sandbox = create_sandbox(_sandbox_config(settings, secret))
    sandbox_url = f"{local_url(settings)}/sandbox"
    services = Services(settings, profile, sandbox_url, settings.data_dir, secret,
                        hosts=server_policy(settings, sandbox_url))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Tasks and runs left unfinished by a crash or a restart carry on before anyone asks.
        activate_sandbox(sandbox)
        try:
            resumed = await services.board.resume_unfinished(services.ledger(), settings, services.resume_key,
                                                              services.hosts, gates_for=services.resume_gates)
        except Exception:  # a broken ledger must not keep the playground from starting
            log.exception("resuming unfinished runs failed")
            resumed = []
        if resumed:
            print(f"resumed {len(resumed)} unfinished run(s)", flush=True)
        sweeper = asyncio.create_task(_sweep(services, _gradio_cache()))
        yield
        sweeper.cancel()
        services.board.stop_waiting()  # before the sandbox goes: queued runs stay queued for the next start
        await close_sandbox(sandbox)
        services.handout.close()  # one staging folder per start would pile up in the temp directory

    app = FastAPI(title="Wan 2.7 Video Playground", docs_url=None, redoc_url=None, lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "provider": settings.provider, "profile": profile.name}

    def run_video(run_id: str) -> Path | None:
        record = services.ledger().get(run_id)
        found = video_of(record) if record is not None else None
        return Path(found) if found else None

    # The presenting pages (/showcase, /share/<token>, the deck) and their runs' before media.
    login = GradioLogin(required=settings.auth_pair() is not None)
    showcase = ShowcaseSources(services.ledger, open_showcase(settings.data_dir), secret, runtime_of(sandbox).store,
                               sharing=lambda: settings.sharing, logged_in=login, profile=profile)
    app.router.routes.append(media_route(secret, run_video, inputs=showcase.input_for,
                                         share_alive=showcase.share_alive))
    app.router.routes.extend(showcase_routes(showcase.hooks()))
    mount(app, sandbox)
    # History's "Download deck" builds the same deck as /showcase/deck.
    demo = build_ui(services, deck=showcase.deck).queue(default_concurrency_limit=None)
    mounted: FastAPI = gr.mount_gradio_app(
        app,
        demo,
        path="",
        footer_links=["api", "settings"],
        # Run history would copy every input, API keys included, into the browser's storage.
        run_history=False,
        # No allowed_paths: nothing under the data directory is served by path (see ui/handout.py);
        # its private parts are blocked besides, should Gradio's cache ever be set above them.
        blocked_paths=_private_paths(settings.data_dir),
        max_file_size=settings.max_upload_mb * gr.FileSize.MB,
        theme=THEME,
        css=CSS + ACCESS_CSS,
        head=HEAD + ACCESS_HEAD + CARET_HEAD,
        show_error=False,
        auth=settings.auth_pair(),
    )
    login.attach(mounted)
    limits = BodyLimits(
        api_bytes=settings.max_request_kb * 1024,
        upload_bytes=(settings.max_upload_mb + 1) * 1024 * 1024,
        read_timeout_s=settings.body_read_timeout_s,
    )
    # Outermost last: headers on every answer, then the throttle, limits and identity.
    mounted.add_middleware(BrowserIdentity, secret=secret)
    mounted.add_middleware(BodyGuard, limits=limits)
    mounted.add_middleware(LoginThrottle)
    mounted.add_middleware(SecurityHeaders)
    return mounted


def _private_paths(data_dir: Path) -> list[str]:
    ledgers = [name + suffix for name in (LEDGER_FILE, LEGACY_LEDGER_FILE) for suffix in ("", "-wal", "-shm")]
    names = [*ledgers, LEGACY_LEDGER_FILE + ".merged", "server-secret.key", "browser-state.key", "runs", "bundles",
             "sandbox", "samples"]
    return [str(data_dir.resolve() / name) for name in names]


def _gradio_cache() -> Path | None:
    """Where Gradio keeps its copies of returned and uploaded files (GRADIO_TEMP_DIR)."""
    with contextlib.suppress(Exception):
        from gradio.utils import get_upload_folder

        return Path(get_upload_folder())
    return Path(tempfile.gettempdir()) / "gradio"


def serve(settings: Settings) -> None:
    """Serve until interrupted."""
    app = create_app(settings)  # first: a data dir another sandbox holds is refused before any banner
    print(f"Wan 2.7 playground on {local_url(settings)} (provider: {settings.provider})", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                timeout_keep_alive=max(1, int(settings.body_read_timeout_s)))
