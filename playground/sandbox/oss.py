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
per-instance secret, so the bucket needs no state of its own; an upload directory belongs to
one API key (``oss://`` keys of another key are refused, like the real per-account files).
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

from playground.sandbox.errors import ApiError
from playground.sandbox.files import OSS_BUCKET, new_id, oss_dir

POLICY_LIFETIME_S = 300  # the real certificate's expire_in_seconds
ACCESS_KEY_ID = "SANDBOXOSSACCESSKEY"
_FORBID_OVERWRITE = "x-oss-forbid-overwrite"


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


class PolicySigner:
    """Issues upload certificates and checks the forms posted with them."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or secrets.token_bytes(32)

    def _sign(self, policy: str) -> str:
        return base64.b64encode(hmac.new(self._secret, policy.encode(), hashlib.sha1).digest()).decode()

    def certificate(self, owner: str, upload_host: str, max_bytes: int, now: float | None = None) -> dict[str, Any]:
        """The ``data`` of a getPolicy answer, for a fresh upload folder."""
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
        return Grant(owner, file_id, key[len(prefix):], max_bytes, forbid)
