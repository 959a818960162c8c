"""Refusals, and how each of the sandbox's faces words them.

One :class:`ApiError` describes a refusal once; it is rendered per surface:

* ``dashscope`` (``/sandbox/api/v1``): ``{"request_id", "code", "message"}``, the codes of
  Model Studio's status-code page (InvalidApiKey, InvalidParameter, Throttling.RateQuota, ...).
* ``gateway`` (``/sandbox/v1`` and the file routes): ``{"error": {"type", "code", "message",
  "param"}}`` with the guide page's types (invalid_request_error 400, authentication_error 401,
  rate_limit_exceeded 429, internal_error 500), as new-api style gateways emit them.
* ``oss`` (the temporary-upload bucket): OSS's XML ``<Error>`` document.

Every body is JSON with ``Content-Type: application/json`` (the official SDK reads error codes
only then), except the bucket's, which answers XML like the real object store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal
from xml.sax.saxutils import escape

from starlette.responses import JSONResponse, Response

from playground.core.contract import ASYNC_HEADER, ENABLE

Surface = Literal["dashscope", "gateway", "oss"]

# The guide page's error types, by HTTP status; anything else 4xx is a request error.
_GATEWAY_TYPES = {401: "authentication_error", 429: "rate_limit_exceeded", 500: "internal_error"}


class ApiError(Exception):
    """A refusal: the status and, for each surface, its code; message and param are shared."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        gateway_code: str,
        param: str | None = None,
        gateway_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.gateway_code = gateway_code
        self.param = param
        self.gateway_type = gateway_type or _GATEWAY_TYPES.get(status, "invalid_request_error")
        self.headers = dict(headers or {})


def render(error: ApiError, surface: Surface, request_id: str) -> Response:
    """The error as the given surface answers it."""
    headers = {**error.headers, "X-Request-Id": request_id}
    if surface == "dashscope":
        body: object = {"request_id": request_id, "code": error.code, "message": error.message}
        return JSONResponse(body, status_code=error.status, headers=headers)
    if surface == "oss":
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
            f"<RequestId>{escape(request_id)}</RequestId></Error>"
        )
        return Response(xml, status_code=error.status, headers=headers, media_type="application/xml")
    body = {
        "error": {
            "type": error.gateway_type,
            "code": error.gateway_code,
            "message": error.message,
            "param": error.param,
        }
    }
    return JSONResponse(body, status_code=error.status, headers=headers)


# Refusals shared by the routes. Messages say what happened and what to do about it.


def missing_key(any_key: bool = True) -> ApiError:
    which = ("the sandbox accepts any key that does not start with sk-invalid" if any_key
             else "use the key the playground's server issued you")
    return ApiError(
        401, "InvalidApiKey", f"No API-key provided: send the header Authorization: Bearer <key> ({which})",
        gateway_code="invalid_api_key",
    )


def invalid_key(reason: str) -> ApiError:
    return ApiError(401, "InvalidApiKey", f"Invalid API-key provided. {reason}", gateway_code="invalid_api_key")


def synchronous_call() -> ApiError:
    return ApiError(
        403, "AccessDenied", "current user api does not support synchronous calls; "
        f"send the header {ASYNC_HEADER}: {ENABLE}",
        gateway_code="access_denied",
    )


def too_large(limit: int, what: str) -> ApiError:
    return ApiError(
        413, "BadRequest.TooLarge", f"the {what} is larger than the {limit}-byte limit",
        gateway_code="request_too_large",
    )


def body_timeout(seconds: float, surface: Surface) -> ApiError:
    """A request body that stopped arriving; the connection is closed after the answer."""
    # OSS spells it RequestTimeout; Model Studio's status-code page, RequestTimeOut.
    code = "RequestTimeout" if surface == "oss" else "RequestTimeOut"
    return ApiError(
        408, code, f"the request body stopped arriving: nothing came for {seconds:g} s; send the whole "
        "body without pausing, then try again",
        gateway_code="request_timeout", headers={"Connection": "close"},
    )


def bad_body(reason: str) -> ApiError:
    return ApiError(400, "InvalidParameter", reason, gateway_code="invalid_json")


def bad_parameter(message: str, param: str | None = None, *, code: str = "InvalidParameter",
                  gateway_code: str = "invalid_parameter") -> ApiError:
    return ApiError(400, code, message, gateway_code=gateway_code, param=param)


def no_route(method: str, path: str) -> ApiError:
    return ApiError(
        404, "InvalidURL", f"no such endpoint: {method} {path}; check the URL and the method",
        gateway_code="not_found",
    )


def wrong_method(method: str, path: str) -> ApiError:
    return ApiError(
        405, "UnsupportedOperation", f"{method} is not supported on {path}",
        gateway_code="method_not_allowed",
    )


def key_busy(limit: int) -> ApiError:
    """One key's unfinished tasks are at its quota: a concurrency limit, gone once one ends."""
    return ApiError(
        429, "Throttling",
        f"Requests throttling triggered: this API key already has {limit} unfinished tasks, the most "
        "one key may have at once; wait for one to finish (or cancel a PENDING one), then send again",
        gateway_code="rate_limited", headers={"Retry-After": "5"},
    )


def busy(limit: int) -> ApiError:
    return ApiError(
        429, "Throttling.AllocationQuota",
        f"Allocated quota exceeded: the sandbox already holds {limit} unfinished tasks; "
        "wait for some to finish",
        gateway_code="rate_limited", headers={"Retry-After": "5"},
    )
