"""Values the server signs with a secret that never leaves it: browser ids, media links, keys.

A signed value is ``<payload>.<expiry>.<mac>``: the payload is URL-safe base64, the expiry a
Unix time (0 = none), and the mac an HMAC-SHA256 over the purpose, payload and expiry. The
purpose is part of the mac so a value signed for one use (a browser cookie) is never accepted
for another (a media link), even though the same secret signs both.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

_MAC_CHARS = 32  # 128 bits of the HMAC, hex: enough against forgery, short enough for a URL


def _mac(secret: bytes, purpose: str, *parts: str) -> str:
    message = "\x1f".join((purpose, *parts)).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:_MAC_CHARS]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def sign(secret: bytes, purpose: str, payload: str, *, expires_at: int = 0) -> str:
    """A token that carries ``payload`` and proves the server made it (until ``expires_at``)."""
    body = _b64(payload)
    return f"{body}.{expires_at}.{_mac(secret, purpose, body, str(expires_at))}"


def verify(secret: bytes, purpose: str, token: str | None, *, now: float) -> str | None:
    """The payload of a token this server signed for ``purpose``, or None (forged, expired, junk)."""
    if not token or len(token) > 4096:
        return None
    body, _, rest = token.partition(".")
    expiry, _, mac = rest.partition(".")
    if not expiry.isdigit() or not hmac.compare_digest(mac, _mac(secret, purpose, body, expiry)):
        return None
    if int(expiry) and now >= int(expiry):
        return None
    return _unb64(body)


# -- sandbox keys -----------------------------------------------------------------------------
# Each browser gets its own sandbox key, so the sandbox's per-key task scoping keeps browsers
# apart. The key is derived, not stored: the same browser gets the same key after a restart,
# which lets unfinished sandbox runs resume, and the server can tell its own keys from others.

SANDBOX_KEY_PREFIX = "sk-sbx-"


def sandbox_key(secret: bytes, owner: str) -> str:
    """The sandbox key of one owner (a browser or an API session)."""
    ident = _mac(secret, "sandbox-owner", owner)[:24]
    return f"{SANDBOX_KEY_PREFIX}{ident}-{_mac(secret, 'sandbox-key', ident)[:24]}"


def is_sandbox_key(secret: bytes, key: str) -> bool:
    """Whether this server issued the key (the mounted sandbox's gate when a login is on)."""
    if not key.startswith(SANDBOX_KEY_PREFIX):
        return False
    ident, _, mac = key.removeprefix(SANDBOX_KEY_PREFIX).partition("-")
    return len(ident) == 24 and hmac.compare_digest(mac, _mac(secret, "sandbox-key", ident)[:24])


# -- browser identity ---------------------------------------------------------------------------
# A browser's lasting id travels in an HttpOnly cookie that the server signs: the page's scripts
# cannot read or forge it, and no endpoint accepts an id from a caller's say-so.

BROWSER_COOKIE = "wan27_browser"
BROWSER_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie for


def browser_token(secret: bytes, browser_id: str) -> str:
    return sign(secret, "browser", browser_id)


def browser_id(secret: bytes, token: str | None, *, now: float) -> str | None:
    """The browser id a cookie proves, or None when it is missing, forged or malformed."""
    value = verify(secret, "browser", token, now=now)
    return value if value and value.isalnum() and len(value) <= 64 else None
