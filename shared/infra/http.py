"""HTTP plumbing shared by both services: the one error shape, bounded parameters,
bearer auth, and the last line of defence (`Guard`).

Errors look the same everywhere (docs/contract.md#errors):
`{"error": {"code", "message", "event_index"?, "field"?}}`.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events.types import ID_PATTERN, MAX_ID
from shared.infra.auth import InvalidToken, Keys, Principal, verify_token
from shared.infra.dberrors import is_database_unavailable, nothing_sent
from shared.infra.revocation import RevokedTokens

log = logging.getLogger(__name__)

# --- parameters: what a path or query may hold ------------------------------------

#: Positions are PostgreSQL bigints: non-negative and at most 2**63 - 1.
MAX_POSITION = 2**63 - 1

PathId = Annotated[
    str, Path(min_length=1, max_length=MAX_ID, pattern=ID_PATTERN, description="an id")
]
"""A `{project_id}`, `{hour_id}`, `{billing_record_id}`: 422 `invalid_field` otherwise."""


def position_query(description: str) -> Any:
    """A log position in a query (`after`, `min_position`, `as_of`)."""
    return Query(ge=0, le=MAX_POSITION, description=description)


After = Annotated[int, position_query("the position after which to read")]
MinPosition = Annotated[
    int | None, position_query("wait until the projection includes this position")
]
AsOf = Annotated[
    int | None, position_query("answer as the finances stood right after this log position")
]
StreamName = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_ID + 50, pattern=ID_PATTERN, description="a stream"),
]
EventTypeName = Annotated[
    str | None,
    Query(min_length=1, max_length=100, pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="a type"),
]


# --- the error shape, as OpenAPI shows it -----------------------------------------


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="what went wrong, for programs (docs/contract.md#errors)")
    message: str = Field(description="what went wrong, for people")
    event_index: int | None = Field(None, description="the event of the batch at fault")
    field: str | None = Field(None, description="the field at fault, as `data.periods[1]`")
    request_id: str | None = Field(None, description="of an unexpected error, to find it logged")


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error: ErrorDetail


_ERROR_TEXT = {
    400: "the body is not JSON, or a key repeats",
    401: "no bearer token, or a bad, expired or revoked one",
    403: "the token lacks a scope this needs",
    404: "nothing by that id (as of that position)",
    405: "the path does not serve this method (`Allow` names those it does)",
    409: "refused by a rule (R9), or not caught up yet",
    413: "the body is too large",
    415: "the body is not declared JSON",
    422: "a field, a parameter or the batch is invalid",
    503: "the database is unavailable: retry later",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route: the error statuses it may answer, in the one shape."""
    return {s: {"model": ErrorBody, "description": _ERROR_TEXT[s]} for s in statuses}


#: OpenAPI's "Authorize": the token checks themselves are `authenticate`'s
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="a token from `tally token create` (its scopes say what it may do)",
)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


class ApiError(Exception):
    """An error answered with the shape of docs/contract.md#errors."""

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


def error_response(err: ApiError, headers: dict[str, str] | None = None) -> Response:
    if err.status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return json_response(err.body(), status_code=err.status, headers=headers)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed(request: Request) -> str:
    """Every method some route serves at this path (asked of the routes themselves)."""
    routes = request.app.router.routes
    return ", ".join(
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # a 405 carries `Allow` (Starlette names the first matching route's methods only)
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed(request)}
        return error_response(ApiError(exc.status_code, code, str(exc.detail)), headers)

    async def on_validation_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {}
        loc = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        code = "missing_field" if first.get("type") == "missing" else "invalid_field"
        return error_response(ApiError(422, code, str(first.get("msg", "invalid")), field=loc))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)


def authenticate(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer …`, by signature and expiry alone (no
    revocation: see `principal`); 401 when missing or bad. The keys are
    `app.state.token_secret`: a secret, or a `TokenKeys` (`compose_app` sets one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "missing bearer token")
    keys: Keys = request.app.state.token_secret
    try:
        return verify_token(keys, token.strip())
    except InvalidToken as exc:  # a fixed phrase: never the token or a key
        raise ApiError(401, "unauthorized", f"invalid token: {exc}") from exc


async def not_revoked(request: Request, who: Principal) -> Principal:
    """401 when the token's id is revoked. Apps without `app.state.revoked_tokens`
    (a `RevokedTokens`; `compose_app` sets one) check no revocation."""
    revoked: RevokedTokens | None = getattr(request.app.state, "revoked_tokens", None)
    if revoked is not None and who.token_id is not None and await revoked.contains(who.token_id):
        raise ApiError(401, "unauthorized", "token revoked")
    return who


async def principal(request: Request, _: Bearer) -> Principal:
    """The caller, from `Authorization: Bearer …`; 401 when missing, bad or revoked."""
    return await not_revoked(request, authenticate(request))


def require(*scopes: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency: the caller, who must hold `scopes[0]` or another of `scopes` (403
    otherwise). The cheap checks come first: signature, expiry, scope, then revocation
    (so a revoked token lacking the scope is a 403, refused all the same)."""
    assert scopes

    async def check(request: Request, _: Bearer) -> Principal:
        who = authenticate(request)
        if not any(who.has(scope) for scope in scopes):
            wanted = " or ".join(repr(scope) for scope in scopes)
            raise ApiError(403, "forbidden", f"this token lacks the scope {wanted}")
        return await not_revoked(request, who)

    return check


Caller = Annotated[Principal, Depends(principal)]


# --- the database is unavailable: one 503 for every route ---------------------------


def database_unavailable(exc: BaseException, *, write: bool = False) -> ApiError:
    """The 503 for `exc` (see `is_database_unavailable`). For a write, the message says
    whether it may have happened: a failure before anything was sent means it did not;
    a time-out or a broken connection after the statement went out leaves it unknown."""
    if not write:
        return ApiError(503, "database_unavailable", "the database is unavailable; retry later")
    if nothing_sent(exc):
        return ApiError(
            503, "database_unavailable", "the database is unavailable; nothing was appended"
        )
    return ApiError(
        503,
        "database_unavailable",
        "the database did not answer in time; the append may or may not have been made."
        " Retrying with the same event_id is safe: if it went through, the retry is"
        " answered as a duplicate",
    )


# --- the last line of defence -------------------------------------------------------

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def request_id_of(scope: Scope) -> str:
    """The caller's `X-Request-Id` when it is sane, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if _REQUEST_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


class Guard:
    """Pure ASGI middleware, outermost but for Starlette's own: every response carries
    `X-Request-Id`; an error no handler took becomes a JSON answer (503
    `database_unavailable` when the database is at fault, else 500 `internal_error`),
    logged with its traceback and the request id, and NOT re-raised, so the server
    keeps the connection open (Starlette's `Exception` handler re-raises after
    answering, and uvicorn then drops the connection)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode("ascii"))
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            method, path = scope.get("method", ""), scope.get("path", "")
            if is_database_unavailable(exc):
                log.warning(
                    "request %s %s %s: database unavailable (%s: %s)",
                    rid, method, path, type(exc).__name__, exc,
                )  # fmt: skip
                err = database_unavailable(exc)
            else:
                log.error("request %s %s %s failed", rid, method, path, exc_info=exc)
                err = ApiError(500, "internal_error", "internal error; see the server log")
            if started:  # too late for an answer of ours; the server closes the connection
                return
            body = err.body()
            body["error"]["request_id"] = rid
            data = orjson.dumps(body)
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ]
            await send_with_id(
                {"type": "http.response.start", "status": err.status, "headers": headers}
            )
            await send_with_id({"type": "http.response.body", "body": data})
