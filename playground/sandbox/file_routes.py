"""Getting files into the sandbox and videos out of it.

* ``POST /sandbox/v1/files`` (Bearer key; multipart field ``file``) stores an upload and
  answers ``{id, object: "file", url, filename, bytes, content_type, created_at, expires_at}``;
  ``url`` is what a request's media item should name. Names with path tricks are refused
  (400); other odd characters are replaced. Over ``max_upload_bytes``: 413. Only the media
  the modes take are kept, judged by their first bytes, never by the name or the declared
  type (media_types.py): anything else is 400 ``unsupported_file_type`` with ``param: "file"``.
  ``content_type`` is the type found in the content.
* ``GET /sandbox/files/<uploads|results>/<id>/<name>`` serves a stored file (no key needed,
  like a signed URL; byte ranges work, so browsers can seek). Gone or never there: 404
  ``file_not_found``, or ``file_expired`` for a result whose task expired. The store shares
  the playground's origin, so every file goes out with the type found at upload (never one
  guessed from its name), ``X-Content-Type-Options: nosniff`` and ``Content-Security-Policy:
  sandbox`` (no script of a file ever runs with the origin's rights), inline for the media
  types browsers play and ``Content-Disposition: attachment`` for anything else.
* ``POST /sandbox/oss`` is the temporary-upload bucket of the SDK's local-file flow (oss.py);
  it applies the same content check (400 ``InvalidArgument`` in OSS's XML shape) and records the
  key and the model the folder's policy was issued for (bindings.py).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import FileResponse, JSONResponse, Response

from playground.core.contract import SANDBOX_UPLOAD_PATH
from playground.sandbox import bodies, errors, media_types
from playground.sandbox.bindings import Binding, write_binding
from playground.sandbox.errors import ApiError
from playground.sandbox.files import BadName, NotMedia, Stored, TooLarge, safe_name
from playground.sandbox.runtime import Runtime, authenticate, sandbox_base
from playground.sandbox.timing import iso_time

UPLOAD_PATH = SANDBOX_UPLOAD_PATH
OSS_PATH = "/oss"
_MULTIPART_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


def _not_found(message: str, code: str = "file_not_found") -> ApiError:
    return ApiError(404, "InvalidParameter", message, gateway_code=code)


def _the_file(form: FormData) -> UploadFile:
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise errors.bad_parameter("send the file as the multipart/form-data field 'file'", param="file",
                                   gateway_code="missing_file")
    return upload


def _not_media(exc: NotMedia) -> ApiError:
    return errors.bad_parameter(str(exc), param="file", gateway_code="unsupported_file_type")


def _serve(found: Stored) -> FileResponse:
    """A stored file, sent so that no browser treats it as a page of this origin."""
    playable = found.media_type in media_types.PLAYABLE
    headers = {
        # Browsers must take the type as given, never guess "text/html" from the bytes...
        "X-Content-Type-Options": "nosniff",
        # ...and even a document opened from here gets a unique origin with scripts off.
        "Content-Security-Policy": "sandbox",
    }
    return FileResponse(found.path, media_type=found.media_type, filename=found.name, headers=headers,
                        content_disposition_type="inline" if playable else "attachment")


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(tags=["Files"])
    store = runtime.store
    limit = runtime.config.max_upload_bytes

    @api.post(UPLOAD_PATH, summary="Upload a media file", openapi_extra=_MULTIPART_DOC,
              responses={200: {"model": bodies.StoredFile}, 400: {"model": bodies.GatewayError},
                         401: {"model": bodies.GatewayError}, 408: {"model": bodies.GatewayError},
                         413: {"model": bodies.GatewayError}})
    async def upload(request: Request) -> JSONResponse:
        authenticate(request, "gateway", runtime.config)
        async with request.form(max_files=1, max_fields=10) as form:
            upload = _the_file(form)
            try:
                name = safe_name(upload.filename or "file")
                stored = await asyncio.to_thread(store.save, upload.file, name, limit)
            except BadName as exc:
                raise errors.bad_parameter(str(exc), param="file", gateway_code="invalid_file_name") from None
            except TooLarge:
                raise errors.too_large(limit, "file") from None
            except NotMedia as exc:
                raise _not_media(exc) from None
        body = bodies.StoredFile(
            id=stored.file_id, url=sandbox_base(request, runtime.config) + stored.route(), filename=stored.name,
            bytes=stored.size, content_type=stored.media_type,
            created_at=iso_time(stored.created_at), expires_at=iso_time(stored.expires_at),
        )
        return JSONResponse(body.dump())

    @api.get("/files/{kind}/{file_id}/{name}", summary="Download a stored file", response_class=FileResponse,
             responses={200: {"content": {mime: {} for mime in sorted(media_types.PLAYABLE)}},
                        404: {"model": bodies.GatewayError}})
    async def download(kind: str, file_id: str, name: str) -> Response:
        found: Stored | None = await asyncio.to_thread(store.find, kind, file_id, name)
        if found is None:
            if kind == "results":
                task = runtime.board.peek(file_id)
                if task is not None and task.expired:
                    raise _not_found(f"the video of task {file_id} has expired and was deleted", "file_expired")
            raise _not_found(f"no file at {kind}/{file_id}/{name[:80]}: it never existed or has expired "
                             f"(files are kept {runtime.config.ttl_s / 3600:g} h)")
        return _serve(found)

    # Players probe with HEAD before they stream; it is the same route, so it stays out of the schema.
    api.add_api_route("/files/{kind}/{file_id}/{name}", download, methods=["HEAD"], include_in_schema=False)

    @api.post(OSS_PATH, summary="Temporary-upload bucket (the official SDK's local-file flow)",
              openapi_extra=_MULTIPART_DOC, responses={200: {"description": "Stored; empty body."}})
    async def oss_upload(request: Request) -> Response:
        async with request.form(max_files=1, max_fields=20) as form:
            fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
            grant = runtime.signer.verify(fields)
            upload = _the_file(form)
            try:
                name = safe_name(grant.name)
            except BadName as exc:
                raise ApiError(400, "InvalidObjectName", str(exc), gateway_code="InvalidObjectName") from None
            try:
                # The binding first (key and model, from the signed policy): the object must never
                # be resolvable without what it is bound to.
                binding = Binding(grant.owner, grant.model)
                await asyncio.to_thread(write_binding, store.upload_folder(grant.file_id), binding)
                await asyncio.to_thread(store.save, upload.file, name, min(limit, grant.max_bytes),
                                        grant.file_id, not grant.forbid_overwrite)
            except FileExistsError:
                raise ApiError(409, "FileAlreadyExists", "The object you specified already exists and can not be "
                               "overwritten.", gateway_code="FileAlreadyExists") from None
            except TooLarge:
                raise ApiError(413, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size.",
                               gateway_code="EntityTooLarge") from None
            except NotMedia as exc:
                raise ApiError(400, "InvalidArgument", f"file: {exc}", gateway_code="InvalidArgument",
                               param="file") from None
        status = 200 if fields.get("success_action_status") == "200" else 204
        return Response(status_code=status)

    return api
