"""What the UI handlers need from the rest of the playground, built once per server."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playground.client.ledger import Ledger
from playground.core.profile import Profile
from playground.core.wire import WireFormat
from playground.settings import Provider, Settings
from playground.ui.board import RunBoard
from playground.ui.sessions import SessionStore

SCENARIOS = [
    ("none (happy path)", "none"),
    ("rate limit", "rate_limit"),
    ("server error", "server_error"),
    ("invalid key", "invalid_key"),
    ("task failed", "task_failed"),
    ("slow", "slow"),
    ("wrong endpoint", "wrong_endpoint"),
    ("expired", "expired"),
]


@dataclass(frozen=True)
class Services:
    """Settings, the active profile and where things live; shared by every browser session."""

    settings: Settings
    profile: Profile
    sandbox_url: str  # the embedded sandbox's root, e.g. http://127.0.0.1:7860/sandbox
    data_dir: Path
    browser_secret: str = ""  # encrypts the browser id kept in each browser's storage
    board: RunBoard = field(default_factory=RunBoard)
    sessions: SessionStore = field(default_factory=SessionStore)

    def default_wire(self, provider: Provider) -> WireFormat:
        return "gateway" if provider == "gateway" else "dashscope"

    def wire_for(self, provider: Provider, chosen: WireFormat | None) -> WireFormat:
        """Only the sandbox speaks both formats; real providers have their own."""
        if provider == "sandbox":
            return chosen or "dashscope"
        return self.default_wire(provider)

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    def ledger(self) -> Ledger:
        return Ledger(self.ledger_path)
