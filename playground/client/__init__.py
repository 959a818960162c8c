"""The only package that talks HTTP to providers; other packages use it through this facade.

``from playground.client import ...`` is the only way the UI and the server reach the client
(``tests/test_layering.py`` holds them to it), so the names below are its public API and the
modules behind them can move without touching their callers.

* ``runner``: runs end to end (validate, upload, submit, poll, download, probe) as events;
  the API the CLI and the UI drive (:func:`run`, :func:`resume`, :func:`recover`, :func:`cancel`).
* ``board``: :class:`RunBoard`, the runs a server drives in the background for browser tabs;
  ``run_queue``: what it says of one browser's queue (:class:`QueuedRun`, :class:`QueueFull`,
  :class:`CancelAnswer`).
* ``api``: :class:`VideoClient`, one httpx.AsyncClient per provider, retries read from the guidance table.
* ``errors``: the error tree, rooted at :class:`PlaygroundError`.
* ``ledger``: the SQLite run ledger that lets runs survive crashes and refreshes; it lives at
  :func:`ledger_path` and is opened with :func:`open_ledger` (``ledger_location``).
* ``providers``: :class:`ProviderConfig` and the readers of each wire format's answers.
* ``hosts``: :class:`HostPolicy`, where a server may send requests.
* ``bundle``: :func:`write_bundle`, a run's reproduction bundle.
* ``billing``: what runs cost: the quote kept with a run, the bill of a succeeded task
  (:func:`stored_cost`), daily budgets (:func:`check_budget`) and a browser's :func:`cost_totals`.
* ``attach``: :func:`attach_file`, probe, check and upload one local file for a model; the
  :class:`UploadBook` of what each oss:// upload is bound to (model, account, 48 h).
* ``showcase_store``: :class:`ShowcaseStore`, a browser's starred runs and its read-only
  :class:`Share` links (signed capability paths, :func:`share_url`), beside the ledger;
  ``deck``: :func:`build_deck`, the offline showcase zip from the runs (:class:`DeckRun`) given.
* ``pressure``: :class:`Gate` and :func:`pressure_for` (a :class:`KeyPressure` per provider and
  key): bounded tasks in flight and one shared 429 backoff, passed to runs as ``RunOptions.gates``.
* ``cli``: ``python -m playground submit`` (not re-exported: the top-level CLI loads it).
"""

from playground.client.api import RetryNote, VideoClient
from playground.client.attach import Attached, Upload, UploadBook, attach_file
from playground.client.billing import BudgetRefusal, Spend, Totals, check_budget, region_of, spent_today
from playground.client.billing import counts as costs_money
from playground.client.billing import quote_json as quote_record
from playground.client.billing import stored as stored_cost
from playground.client.billing import totals as cost_totals
from playground.client.board import RunBoard
from playground.client.bundle import write_bundle
from playground.client.deck import DeckRun, build_deck
from playground.client.errors import (
    ApiRefused,
    AuthRefused,
    DeadlinePassed,
    DownloadFailed,
    HostRefused,
    InvalidRequest,
    LocalFileNeedsUrl,
    LocalFileRefused,
    LocalFileWrongRegion,
    OutcomeUnknown,
    PlaygroundError,
    RateLimited,
    ResultExpired,
    RunCrashed,
    ServerFailed,
    TaskFailed,
    TransportFailed,
    UploadFailed,
    WrongEndpoint,
)
from playground.client.hosts import PERMISSIVE, HostPolicy, server_policy
from playground.client.ledger import Ledger, LedgerEvent, RunRecord
from playground.client.ledger_location import LEDGER_FILE, LEGACY_LEDGER_FILE, ledger_path, open_ledger
from playground.client.pressure import Gate, KeyPressure, pressure_for
from playground.client.providers import ProviderConfig, provider_from_settings
from playground.client.run_queue import CancelAnswer, QueuedRun, QueueFull, waiting_words
from playground.client.run_state import FINAL_STATES, RESUMABLE_STATES, RunEvent, RunOptions
from playground.client.runner import cancel, provider_for, recover, resume, run, unfinished
from playground.client.showcase_store import (
    Share,
    ShowcaseStore,
    active_share_for_token,
    open_showcase,
    share_id_of,
    share_url,
)
from playground.core.run_states import RunState, label_of

__all__ = [
    "FINAL_STATES",
    "LEDGER_FILE",
    "LEGACY_LEDGER_FILE",
    "PERMISSIVE",
    "RESUMABLE_STATES",
    "ApiRefused",
    "Attached",
    "AuthRefused",
    "BudgetRefusal",
    "CancelAnswer",
    "DeadlinePassed",
    "DeckRun",
    "DownloadFailed",
    "Gate",
    "HostPolicy",
    "HostRefused",
    "InvalidRequest",
    "KeyPressure",
    "Ledger",
    "LedgerEvent",
    "LocalFileNeedsUrl",
    "LocalFileRefused",
    "LocalFileWrongRegion",
    "OutcomeUnknown",
    "PlaygroundError",
    "ProviderConfig",
    "QueueFull",
    "QueuedRun",
    "RateLimited",
    "ResultExpired",
    "RetryNote",
    "RunBoard",
    "RunCrashed",
    "RunEvent",
    "RunOptions",
    "RunRecord",
    "RunState",
    "ServerFailed",
    "Share",
    "ShowcaseStore",
    "Spend",
    "TaskFailed",
    "Totals",
    "TransportFailed",
    "Upload",
    "UploadBook",
    "UploadFailed",
    "VideoClient",
    "WrongEndpoint",
    "active_share_for_token",
    "attach_file",
    "build_deck",
    "cancel",
    "check_budget",
    "cost_totals",
    "costs_money",
    "label_of",
    "ledger_path",
    "open_ledger",
    "open_showcase",
    "pressure_for",
    "provider_for",
    "provider_from_settings",
    "quote_record",
    "recover",
    "region_of",
    "resume",
    "run",
    "server_policy",
    "share_id_of",
    "share_url",
    "spent_today",
    "stored_cost",
    "unfinished",
    "waiting_words",
    "write_bundle",
]
