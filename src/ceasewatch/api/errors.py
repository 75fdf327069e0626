"""The API's one error shape and the one table mapping ceasewatch errors to HTTP statuses.

Every error answer is ``{"error": {"type": <class name>, "message": <text>}}``, whatever raised
it: a `CeasewatchError` from the library, a request that fails validation, or a route that does
not exist. `HTTPException` is used nowhere else in ceasewatch.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ceasewatch.errors import (
    AccessDenied,
    CeasewatchError,
    Conflict,
    IntegrityError,
    InvalidInput,
    NotFound,
)

__all__ = ["STATUS", "error_response", "install_error_handlers", "status_for"]

STATUS: dict[type[CeasewatchError], int] = {
    InvalidInput: 400,
    AccessDenied: 403,
    NotFound: 404,
    Conflict: 409,
    IntegrityError: 422,
    CeasewatchError: 500,
}
"""HTTP status of each error class (the nearest listed base class wins)."""

_HTTP_TYPES = {400: "InvalidInput", 403: "AccessDenied", 404: "NotFound", 405: "InvalidInput"}


def status_for(exc: CeasewatchError) -> int:
    """The HTTP status of an error, from `STATUS` by the error's class hierarchy."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_response(status: int, type_: str, message: str) -> JSONResponse:
    """The one error shape."""
    return JSONResponse({"error": {"type": type_, "message": message}}, status_code=status)


def _ceasewatch(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CeasewatchError)
    return error_response(status_for(exc), type(exc).__name__, exc.diagnostics())


def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return error_response(400, "InvalidInput", "; ".join(parts) or "invalid request")


def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    kind = _HTTP_TYPES.get(exc.status_code, "CeasewatchError")
    return error_response(exc.status_code, kind, str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` in the one shape."""
    app.add_exception_handler(CeasewatchError, _ceasewatch)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
