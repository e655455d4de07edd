"""HTTP plumbing shared by both services: the one error shape, and bearer auth.

Errors look the same everywhere (api.md):
`{"error": {"code", "message", "event_index"?, "field"?}}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.infra.auth import InvalidToken, Principal, verify_token


class ApiError(Exception):
    """An error answered with the shape of api.md."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        event_index: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.event_index = event_index
        self.field = field

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.event_index is not None:
            err["event_index"] = self.event_index
        if self.field is not None:
            err["field"] = self.field
        return {"error": err}


def json_response(
    body: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """orjson-encoded JSON (bodies hold no Decimal: amounts are already strings)."""
    return Response(
        orjson.dumps(body), status_code=status_code, media_type="application/json", headers=headers
    )


def error_response(err: ApiError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
    return json_response(err.body(), status_code=err.status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(ApiError(exc.status_code, code, str(exc.detail)))

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        code = "missing_field" if first.get("type") == "missing" else "invalid_field"
        return error_response(ApiError(422, code, str(first.get("msg", "invalid")), field=loc))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


def principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer …`; 401 when missing or bad."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "missing bearer token")
    secret: str = request.app.state.token_secret
    try:
        return verify_token(secret, token.strip())
    except InvalidToken as exc:
        raise ApiError(401, "unauthorized", f"invalid token: {exc}") from exc


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """Dependency: the caller, who must hold `scope` (403 otherwise)."""

    async def check(request: Request) -> Principal:
        who = principal(request)
        if not who.has(scope):
            raise ApiError(403, "forbidden", f"this token lacks the scope {scope!r}")
        return who

    return check


Caller = Annotated[Principal, Depends(principal)]
