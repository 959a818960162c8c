"""The temporary-upload flow the official SDK uses for local files, emulated.

For a local path (or ``file://`` URL) in a request, the ``dashscope`` SDK (see
``dashscope/utils/oss_utils.py``):

1. ``GET {base}/uploads?action=getPolicy&model=<model>`` with the API key, and reads ``data``:
   ``policy``, ``signature``, ``upload_dir``, ``upload_host``, ``oss_access_key_id``,
   ``x_oss_object_acl``, ``x_oss_forbid_overwrite`` (and ``expire_in_seconds``,
   ``max_file_size_mb``);
2. POSTs a multipart form to ``upload_host`` (an OSS bucket) with those fields, ``key`` =
   ``upload_dir/<basename>``, ``success_action_status=200`` and the ``file``;
3. sends ``oss://<key>`` in the request, with ``X-DashScope-OssResourceResolve: enable``.

Here the bucket is ``{sandbox}/oss`` and the object lands in the file store's uploads under the
policy's id, so the task reads it like any other upload. Policies are HMAC-signed with a
per-instance secret, so the bucket needs no state of its own. An upload folder is bound, as the
real service binds temporary files (§6.1), to the API key that asked for the policy and to the
model named in that request: both travel in the signed policy, the bucket writes them beside
the object (bindings.py), and an ``oss://`` URL used by another key or for another model is
refused wherever it is resolved (files.py).
Everything the upload may do comes from the signed policy, never from the form's own fields:
the folder, the size limit and whether an existing object may be overwritten (the policy's
``x-oss-forbid-overwrite`` condition; a form field saying otherwise changes nothing). The
object itself must be one of the media the modes take, checked by content like every upload.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from playground.core.contract import OSS_SCHEME
from playground.core.request import VideoRequest, media_of
from playground.core.wire import WireFormat, path_of
from playground.sandbox import errors
from playground.sandbox.errors import ApiError
from playground.sandbox.files import OSS_BUCKET, FileStore, MediaRefused, Origin, new_id, oss_dir, resolve

POLICY_LIFETIME_S = 300  # the real certificate's expire_in_seconds
ACCESS_KEY_ID = "SANDBOXOSSACCESSKEY"
_FORBID_OVERWRITE = "x-oss-forbid-overwrite"
# The model the folder is bound to. The real service keeps this on its side; here it rides in
# the signed policy so the bucket learns it without shared state (no form field is compared).
_BOUND_MODEL = "x-sandbox-bound-model"


def _oss_error(status: int, code: str, message: str) -> ApiError:
    return ApiError(status, code, message, gateway_code=code)


@dataclass(frozen=True)
class Grant:
    """What a verified form upload may write: the upload folder's id and the object's name."""

    owner: str
    file_id: str
    name: str
    max_bytes: int
    forbid_overwrite: bool
    model: str  # the model named when the policy was asked for: the only one the file works with


class PolicySigner:
    """Issues upload certificates and checks the forms posted with them."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, policy: str) -> str:
        return base64.b64encode(hmac.new(self._secret, policy.encode(), hashlib.sha1).digest()).decode()

    def certificate(self, owner: str, upload_host: str, max_bytes: int, *, model: str,
                    now: float | None = None) -> dict[str, Any]:
        """The ``data`` of a getPolicy answer, for a fresh upload folder bound to ``owner`` and ``model``."""
        now = time.time() if now is None else now
        day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
        upload_dir = oss_dir(owner, day, new_id("oss_"))
        expires = datetime.fromtimestamp(now + POLICY_LIFETIME_S, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        document = {
            "expiration": expires,
            "conditions": [
                {"bucket": OSS_BUCKET},
                ["starts-with", "$key", upload_dir + "/"],
                ["content-length-range", 0, max_bytes],
                {_FORBID_OVERWRITE: "true"},
                {_BOUND_MODEL: model},
            ],
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": upload_host,
            "expire_in_seconds": POLICY_LIFETIME_S,
            "max_file_size_mb": max(1, max_bytes // (1024 * 1024)),
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": ACCESS_KEY_ID,
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def verify(self, fields: dict[str, str], now: float | None = None) -> Grant:
        """Check a posted form against the policy it carries; refusals are OSS's own codes."""
        now = time.time() if now is None else now
        missing = [k for k in ("OSSAccessKeyId", "policy", "Signature", "key") if not fields.get(k)]
        if missing:
            raise _oss_error(400, "InvalidArgument", f"the form is missing {', '.join(missing)}")
        if fields["OSSAccessKeyId"] != ACCESS_KEY_ID:
            raise _oss_error(403, "InvalidAccessKeyId",
                             "The OSS Access Key Id you provided does not exist in our records.")
        policy = fields["policy"]
        if not hmac.compare_digest(self._sign(policy), fields["Signature"]):
            raise _oss_error(403, "SignatureDoesNotMatch",
                             "The request signature we calculated does not match the signature you provided.")
        try:
            document = json.loads(base64.b64decode(policy, validate=True))
            expires = datetime.strptime(document["expiration"], "%Y-%m-%dT%H:%M:%S.000Z").replace(tzinfo=UTC)
            rules = {c[0]: c for c in document["conditions"] if isinstance(c, list) and c}
            exact = {k: v for c in document["conditions"] if isinstance(c, dict) for k, v in c.items()}
            prefix = str(rules["starts-with"][2])
            max_bytes = int(rules["content-length-range"][2])
            # Signed, so it is what this sandbox decided; absent (never issued so) means the safe choice.
            forbid = str(exact.get(_FORBID_OVERWRITE, "true")).lower() == "true"
            model = str(exact.get(_BOUND_MODEL, ""))  # "" (never issued so) matches no model
        except (binascii.Error, ValueError, KeyError, TypeError, IndexError, AttributeError):
            raise _oss_error(400, "InvalidPolicyDocument",
                             "Invalid Policy: the policy document cannot be read.") from None
        if expires.timestamp() < now:
            raise _oss_error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")
        key = fields["key"]
        if not key.startswith(prefix) or "/" in key[len(prefix):] or not key[len(prefix):]:
            condition = f'["starts-with", "$key", "{prefix}"]'
            raise _oss_error(403, "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}")
        _, owner, _, file_id = prefix.rstrip("/").split("/")
        return Grant(owner, file_id, key[len(prefix):], max_bytes, forbid, model)


def _temporary_urls(request: VideoRequest) -> list[tuple[tuple[str | int, ...], str]]:
    """Every oss:// URL in a request, with where it is (a request-model loc)."""
    named: list[tuple[tuple[str | int, ...], str | None]] = [(("audio_url",), getattr(request, "audio_url", None))]
    for index, item in enumerate(media_of(request)):
        named += [(("media", index, "url"), item.url), (("media", index, "reference_voice"), item.reference_voice)]
    return [(loc, url) for loc, url in named if url is not None and url.startswith(OSS_SCHEME)]


def refuse_unbound(request: VideoRequest, *, model: str, origin: Origin, store: FileStore, fmt: WireFormat) -> None:
    """Refuse a create whose oss:// URLs the service would not resolve for this key and model.

    With ``X-DashScope-OssResourceResolve: enable`` the service turns oss:// URLs into files
    when it accepts the create, so a file that is gone, or bound to another account or another
    model (§6.1), is a refusal of the create itself: HTTP 400 ``InvalidParameter`` naming the
    field, what the file is bound to and the fix.

    ⚠ Unconfirmed: the documentation says files cannot be shared across models or accounts but
    not what the service answers (status, code, message, or whether the task fails later
    instead); this shape is the sandbox's choice, in the form of DashScope's other parameter
    errors. Blocking (it reads the store): call it from a thread.
    """
    for loc, url in _temporary_urls(request):
        try:
            resolve(url, origin, store, model)
        except MediaRefused as exc:
            field = path_of(fmt, loc)
            raise errors.bad_parameter(f"{field}: {exc}", field) from None

