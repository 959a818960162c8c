"""What the UI handlers need from the rest of the playground, built once per server."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from playground.client import (
    PERMISSIVE,
    Gate,
    HostPolicy,
    Ledger,
    ProviderConfig,
    RunBoard,
    RunRecord,
    UploadBook,
    ledger_path,
    open_ledger,
    pressure_for,
)
from playground.core.profile import Profile
from playground.core.signing import sandbox_key
from playground.core.wire import WireFormat
from playground.settings import PROVIDERS, Provider, Settings
from playground.ui.handout import Handout
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
    secret: bytes = b""  # the server's signing secret (browser cookies, sandbox keys, media links)
    board: RunBoard = field(default_factory=RunBoard)
    sessions: SessionStore = field(default_factory=SessionStore)
    handout: Handout = field(default_factory=Handout)
    # What each file attached through this server was uploaded for (model, key, time): Send
    # uploads it again when a request goes to another model, key, or after 48 h.
    uploads: UploadBook = field(default_factory=UploadBook)
    hosts: HostPolicy = PERMISSIVE  # where the server may send requests (the server passes its strict one)
    # One gate per browser: at most settings.max_runs_per_browser of its runs at the provider at
    # once; its other Sends wait in its queue (``waiting``), nothing sent until a slot frees.
    # Held weakly: every run holding or awaiting a slot keeps its gate alive, so a gate nobody
    # references has neither and goes, instead of one per browser ever seen piling up.
    gates: weakref.WeakValueDictionary[str, Gate] = field(default_factory=weakref.WeakValueDictionary)

    def owner_gate(self, owner: str) -> Gate:
        """This browser's gate (made on first use; the same one for every tab of the browser)."""
        gate = self.gates.get(owner)
        if gate is None:
            gate = self.gates[owner] = Gate(self.settings.max_runs_per_browser, "this browser")
        return gate

    def resume_gates(self, record: RunRecord, provider: ProviderConfig) -> tuple[Gate, ...]:
        """The gates a run resumed at start-up waits behind again: its browser's, and for a
        variation its provider key's pressure (as when it was sent)."""
        gates: tuple[Gate, ...] = (self.owner_gate(record.session_id or ""),)
        if record.batch_id:
            gates += (pressure_for(provider, self.settings.concurrency),)
        return gates

    @property
    def queue_limit(self) -> int:
        """How many runs one browser may have unfinished: its cap at the provider, plus a
        waiting list as long as one variations grid; a Send beyond it is refused, nothing lost."""
        return self.settings.max_runs_per_browser + self.settings.max_variations

    def sandbox_key(self, owner: str) -> SecretStr:
        """This owner's own sandbox key: the sandbox keeps each key's tasks apart."""
        return SecretStr(sandbox_key(self.secret, owner))

    def resume_key(self, record: RunRecord) -> SecretStr | None:
        """The key to resume a stored run with: only where the server's key was what it used."""
        configured = {
            "sandbox": self.sandbox_url,
            "dashscope": self.settings.dashscope_base_url(),
            "gateway": self.settings.base_url or "",
        }.get(record.provider, "")
        if record.provider not in PROVIDERS or record.base_url.rstrip("/") != configured.rstrip("/"):
            return None
        return self.key_for(record.provider, record.session_id or "")

    def key_for(self, provider: Provider, owner: str) -> SecretStr | None:
        """The key the server holds for a provider on behalf of this owner (never a typed one)."""
        if provider == "sandbox":
            return self.sandbox_key(owner)
        return self.settings.api_key(provider)

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
        return ledger_path(self.data_dir)

    def ledger(self) -> Ledger:
        # The same ledger `submit` uses: runs started in either are seen by both.
        return open_ledger(self.data_dir)
