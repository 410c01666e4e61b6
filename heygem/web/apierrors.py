"""The REST API's errors: always ``{"error": {"code", "message"}}`` with the right status, never a
traceback.

400 a malformed request (form fields, a batch id, settings that are not JSON); 401 no login
(answered by :class:`heygem.web.server.BasicAuth`); 403 a state change sent from another site
(:class:`heygem.web.server.SameOrigin`); 404 no such batch, output or route; 405 a method the
route does not take; 409 an action the batch's state does not allow now; 413 an upload over a
limit; 415 a body or file of the wrong content type; 422 input that is well-formed but
unusable (a bad setting, no audio, an unreadable narration, an empty file); 507 an upload the
disk has no room for.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from heygem.errors import HeygemError
from heygem.settings import SettingsError
from heygem.web.service import ConflictError, NotFoundError

log = logging.getLogger("heygem")

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


class ApiError(Exception):
    """An answer other than success: ``status``, a stable ``code`` and a one-line message;
    ``extra`` fields go into the error object too (``key`` for a bad setting)."""

    def __init__(self, status: int, code: str, message: str, **extra):
        self.status, self.code, self.message, self.extra = status, code, message, extra
        super().__init__(message)


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def error_response(status: int, code: str, message: str, **extra) -> JSONResponse:
    return JSONResponse(error_body(code, message, **extra), status_code=status)


def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, **exc.extra)


def _heygem_error(request: Request, exc: HeygemError) -> JSONResponse:
    if isinstance(exc, SettingsError):
        return error_response(422, "invalid_setting", str(exc), key=exc.key)
    if isinstance(exc, NotFoundError):
        return error_response(404, "not_found", str(exc))
    if isinstance(exc, ConflictError):
        return error_response(409, "conflict", str(exc))
    return error_response(422, "invalid_input", str(exc))  # no audio, an unreadable narration


def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0]
    where = " ".join(str(part) for part in first.get("loc", ()))
    return error_response(422, "invalid_request", f"{where}: {first.get('msg', 'invalid')}")


def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = exc.detail if exc.status_code != 404 else f"no route {request.method} {request.url.path}"
    return JSONResponse(error_body(code, str(message)), status_code=exc.status_code, headers=exc.headers)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("API %s %s failed", request.method, request.url.path)
    return error_response(500, "internal", "internal error: the app's log has the details")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HeygemError, _heygem_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
