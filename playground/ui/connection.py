"""A browser's connection panel, turned into a provider the client can use.

Which base URL and which key a browser's action goes to: the key typed in that tab, else the
server's own, but the server's key only ever to the provider it was configured with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError

from playground.client import ProviderConfig, RunOptions
from playground.core.wire import WireFormat
from playground.settings import Provider
from playground.ui.services import Services


@dataclass(frozen=True)
class Connection:
    """The connection panel's values for one action; the key is this tab's, if it typed one."""

    provider: Provider
    wire: WireFormat
    base_url: str | None
    scenario: str | None
    api_key: SecretStr | None
    owner: str  # whose sandbox key to use, and whose History the run joins


class ConnectionError_(ValueError):
    """The connection panel does not describe a usable provider."""


def api_base(services: Services, connection: Connection) -> str:
    """Where the API paths hang off for this connection (no key needed to say so)."""
    base = connection.base_url
    if base is None:
        if connection.provider == "sandbox":
            base = services.sandbox_url
        elif connection.provider == "dashscope":
            base = services.settings.dashscope_base_url()
        else:
            base = services.settings.base_url or "https://YOUR-GATEWAY/v1"
    try:
        return ProviderConfig(kind=connection.provider, wire=connection.wire, base_url=base).api_base
    except ValidationError:
        return base


def _configured_base(services: Services, provider: Provider) -> str | None:
    """The base URL the server was configured with for a provider (where its key may go)."""
    if provider == "sandbox":
        return services.sandbox_url
    if provider == "dashscope":
        return services.settings.dashscope_base_url()
    return services.settings.base_url or None


def _key(services: Services, connection: Connection, custom_base: bool) -> SecretStr:
    """The key to send: the tab's own, else the server's, but the server's only to its own provider.

    A Base URL typed in the page must never receive the key from the server's environment:
    that would hand the key to whoever runs the listener the URL names.
    """
    if connection.api_key is not None:
        return connection.api_key
    if custom_base:
        raise ConnectionError_(
            "API key: a Base URL of your own needs a key typed in this tab; the server's key is only ever "
            "sent to the provider it was configured with (clear Base URL to use it)"
        )
    key = services.key_for(connection.provider, connection.owner)
    if key is None:
        raise ConnectionError_(
            f"API key: {connection.provider} needs a key; paste it in the connection panel "
            "or set it in the environment before starting"
        )
    return key


def provider_config(services: Services, connection: Connection) -> ProviderConfig:
    configured = _configured_base(services, connection.provider)
    base = connection.base_url or configured
    if base is None:
        raise ConnectionError_("Base URL: the gateway provider needs its base URL, e.g. https://host/v1")
    try:
        fields: dict[str, Any] = {
            "kind": connection.provider,
            "wire": connection.wire,
            "base_url": base,
            "scenario": connection.scenario if connection.provider == "sandbox" else None,
            "hosts": services.hosts,
        }
        # The URL is checked before a key is chosen, so a broken URL is named as such.
        ProviderConfig.model_validate(fields)
        custom = connection.base_url is not None and base.rstrip("/") != (configured or "").rstrip("/")
        return ProviderConfig.model_validate({**fields, "api_key": _key(services, connection, custom)})
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConnectionError_(f"Connection: {reason}") from None


def run_options(services: Services) -> RunOptions:
    """How the server runs a browser's request: never reading server files a form names, and
    leaving the task to resume() when the server stops rather than cancelling a paid task."""
    return RunOptions(profile=services.profile, cancel_on_abort=False, allow_local_files=False,
                      uploads=services.uploads)
