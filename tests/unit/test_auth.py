"""Bearer tokens as a security boundary (api.md "Credentials and scopes"): forged,
tampered, expired and unknown-key tokens are refused with 401; rotation keeps the
previous secret working while it is listed; no body is read before the token is
checked; secrets never reach a log or an answer; and every route of the `tally dev`
composition refuses a caller without a token or without a relevant scope."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import httpx
import jwt
import pydantic
import pytest
from fastapi import APIRouter, Depends, FastAPI
from starlette.routing import Route

from services.cli import admin
from services.cli.dev import build_app
from services.ledger.app import create_app as create_ledger_app
from services.ledger.entrypoints.http import LedgerState
from shared.infra.auth import (
    DEFAULT_TTL_SECONDS,
    SCOPES,
    InvalidToken,
    Principal,
    TokenKeys,
    create_token,
    key_id,
    verify_token,
)
from shared.infra.http import install_error_handlers, require
from shared.infra.revocation import RevokedTokens
from shared.infra.settings import Settings

SECRET = "current-secret-" + "c" * 60
PREVIOUS = "previous-secret-" + "p" * 60
NOWHERE = "postgresql://postgres@127.0.0.1:9/never"  # apps built here never connect


# --- helpers ------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"sub": "mallory", "scope": "audit:read", "iat": now, "exp": now + 600, "jti": "j1"}
    claims.update(overrides)
    return claims


def _probe_app(keys: str | TokenKeys = SECRET) -> FastAPI:
    """A bare app with one route that needs audit:read and answers who called."""
    router = APIRouter()

    @router.get("/probe")
    async def probe(who: Annotated[Principal, Depends(require("audit:read"))]) -> Any:
        return {"subject": who.subject}

    app = FastAPI()
    install_error_handlers(app)
    app.state.token_secret = keys
    app.include_router(router)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://tally")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _probe(app: FastAPI, token: str) -> httpx.Response:
    async with _client(app) as client:
        return await client.get("/probe", headers=_bearer(token))


def _refused(resp: httpx.Response, message: str | None = None) -> None:
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"]["code"] == "unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"
    if message is not None:
        assert resp.json()["error"]["message"] == message


# --- the format ---------------------------------------------------------------------


def test_a_token_is_a_standard_hs256_jwt_with_kid_and_the_documented_claims() -> None:
    before = int(time.time())
    token = create_token(SECRET, "alice", ["finance:read", "audit:read"])
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert header["kid"] == key_id(SECRET) and re.fullmatch(r"[0-9a-f]{8}", header["kid"])
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(claims) == {"sub", "scope", "iat", "exp", "jti"}
    assert claims["sub"] == "alice"
    assert claims["scope"] == "audit:read finance:read"  # space-separated, sorted
    assert claims["exp"] - claims["iat"] == DEFAULT_TTL_SECONDS  # every token expires
    assert before <= claims["iat"] <= before + 5
    assert len(claims["jti"]) >= 16
    assert (
        claims["jti"]
        != jwt.decode(create_token(SECRET, "alice", ["audit:read"]), SECRET, algorithms=["HS256"])[
            "jti"
        ]
    )
    who = verify_token(SECRET, token)
    assert who == Principal("alice", frozenset({"finance:read", "audit:read"}), claims["jti"],
                            claims["exp"])  # fmt: skip


def test_create_token_refuses_unknown_scopes_and_non_positive_lifetimes() -> None:
    with pytest.raises(ValueError):
        create_token(SECRET, "a", ["admin"])
    for ttl in (0, -5):
        with pytest.raises(ValueError):
            create_token(SECRET, "a", ["audit:read"], ttl_seconds=ttl)


# --- forged and tampered tokens: 401 --------------------------------------------------


async def test_alg_none_is_refused() -> None:
    header = {"alg": "none", "typ": "JWT", "kid": key_id(SECRET)}
    unsigned = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(_claims()).encode())}."
    with pytest.raises(InvalidToken):
        verify_token(SECRET, unsigned)
    _refused(await _probe(_probe_app(), unsigned), "invalid token: algorithm not allowed")
    # the same with the library's own "none" encoder, and with a signature left on
    other = jwt.encode(_claims(), None, algorithm="none", headers={"kid": key_id(SECRET)})
    _refused(await _probe(_probe_app(), other))
    signed = create_token(SECRET, "m", ["audit:read"]).split(".")
    _refused(await _probe(_probe_app(), f"{_b64(json.dumps(header).encode())}.{signed[1]}."))


async def test_other_algorithms_are_refused_even_with_the_right_secret() -> None:
    for alg in ("HS384", "HS512"):
        token = jwt.encode(_claims(), SECRET, algorithm=alg, headers={"kid": key_id(SECRET)})
        _refused(await _probe(_probe_app(), token), "invalid token: algorithm not allowed")


async def test_a_tampered_signature_is_refused() -> None:
    head, body, sig = create_token(SECRET, "m", ["audit:read"]).split(".")
    raw = bytearray(_unb64(sig))
    raw[0] ^= 0x01
    _refused(await _probe(_probe_app(), f"{head}.{body}.{_b64(bytes(raw))}"),
             "invalid token: bad signature")  # fmt: skip
    _refused(await _probe(_probe_app(), f"{head}.{body}."))
    # signed with a secret the server does not hold, but claiming the server's kid
    forged = jwt.encode(_claims(), "x" * 40, algorithm="HS256", headers={"kid": key_id(SECRET)})
    _refused(await _probe(_probe_app(), forged), "invalid token: bad signature")


async def test_an_altered_scope_claim_is_refused() -> None:
    token = create_token(SECRET, "m", ["finance:read"])
    head, body, sig = token.split(".")
    claims = json.loads(_unb64(body))
    claims["scope"] = " ".join(SCOPES)  # every scope, old signature
    altered = f"{head}.{_b64(json.dumps(claims).encode())}.{sig}"
    _refused(await _probe(_probe_app(), altered), "invalid token: bad signature")
    # the genuine token is a 403 on this route, not a 401: the check above is the signature
    resp = await _probe(_probe_app(), token)
    assert resp.status_code == 403, resp.text


async def test_an_expired_token_is_refused() -> None:
    token = create_token(SECRET, "m", ["audit:read"], ttl_seconds=60, now=time.time() - 61)
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(SECRET, token)
    _refused(await _probe(_probe_app(), token), "invalid token: token expired")
    fresh = create_token(SECRET, "m", ["audit:read"], ttl_seconds=60, now=time.time() - 30)
    assert (await _probe(_probe_app(), fresh)).status_code == 200


async def test_a_token_without_expiry_or_id_is_refused() -> None:
    for missing in ("exp", "jti", "scope", "sub"):
        claims = _claims()
        del claims[missing]
        token = jwt.encode(claims, SECRET, algorithm="HS256", headers={"kid": key_id(SECRET)})
        _refused(await _probe(_probe_app(), token), "invalid token: missing claim")


async def test_an_unknown_or_missing_kid_is_refused() -> None:
    for headers in ({"kid": "deadbeef"}, {}):
        token = jwt.encode(_claims(), SECRET, algorithm="HS256", headers=headers)
        _refused(await _probe(_probe_app(), token))
    token = jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"kid": "deadbeef"})
    _refused(await _probe(_probe_app(), token), "invalid token: unknown key")


async def test_garbage_and_the_old_format_are_refused() -> None:
    for token in ("x", "a.b.c", "tly_eyJzdWIiOiJtIn0.c2ln", "...", "%%.%%.%%", "e30.e30.e30"):
        with pytest.raises(InvalidToken):
            verify_token(SECRET, token)
        _refused(await _probe(_probe_app(), token))


# --- key rotation ---------------------------------------------------------------------


async def test_a_previous_secret_is_accepted_while_listed_and_refused_once_removed() -> None:
    old_token = create_token(PREVIOUS, "m", ["audit:read"])
    new_token = create_token(TokenKeys(SECRET, (PREVIOUS,)), "m", ["audit:read"])
    assert jwt.get_unverified_header(new_token)["kid"] == key_id(SECRET)  # signs with current

    rotating = _probe_app(TokenKeys(SECRET, (PREVIOUS,)))
    assert (await _probe(rotating, old_token)).status_code == 200
    assert (await _probe(rotating, new_token)).status_code == 200

    rotated = _probe_app(TokenKeys(SECRET))
    _refused(await _probe(rotated, old_token), "invalid token: unknown key")
    assert (await _probe(rotated, new_token)).status_code == 200


def test_settings_hold_the_previous_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_TOKEN_SECRET", SECRET)
    monkeypatch.setenv("TALLY_TOKEN_PREVIOUS_SECRETS", f" {PREVIOUS} , {'q' * 40},")
    keys = Settings().require_token_keys()
    assert keys.current == SECRET and keys.previous == (PREVIOUS, "q" * 40)
    assert keys.for_kid(key_id(PREVIOUS)) == PREVIOUS
    app = build_app(Settings(database_url=NOWHERE))
    assert app.state.token_secret == keys
    monkeypatch.setenv("TALLY_TOKEN_PREVIOUS_SECRETS", f"{PREVIOUS},short")
    with pytest.raises(pydantic.ValidationError):
        Settings()


# --- the revocation cache -------------------------------------------------------------


class _FakeEngine:
    """Just what `RevokedTokens` asks of an engine; counts its loads; can be down."""

    def __init__(self) -> None:
        self.revoked: set[str] = set()
        self.down = False
        self.loads = 0

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[_FakeEngine]:
        if self.down:
            raise ConnectionRefusedError("the database is down")
        self.loads += 1
        yield self

    async def execute(self, _statement: Any) -> list[tuple[str]]:
        return [(jti,) for jti in self.revoked]


async def test_the_revocation_cache_reloads_at_most_every_refresh_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, now = _FakeEngine(), [100.0]
    cache = RevokedTokens(lambda: engine, refresh_seconds=5, clock=lambda: now[0])  # type: ignore[arg-type, return-value]
    assert not await cache.contains("j1") and engine.loads == 1  # the first check loads
    engine.revoked.add("j1")
    now[0] += 4.9
    for _ in range(100):  # fresh: answered from memory, no database
        assert not await cache.contains("j1")
    assert engine.loads == 1
    now[0] += 0.1  # stale: one reload in the background, this check answers at once
    assert not await cache.contains("j1")
    await asyncio.sleep(0)
    assert await cache.contains("j1") and engine.loads == 2
    # the database goes away: the known set stays, a reload is tried again later
    engine.down, now[0] = True, now[0] + 5
    with caplog.at_level(logging.WARNING):
        assert await cache.contains("j1")
        await asyncio.sleep(0)
    assert await cache.contains("j1") and "keeping the 1 known" in caplog.text
    await cache.aclose()
    # …but a cache that never loaded does not let a token through
    with pytest.raises(ConnectionRefusedError):
        await RevokedTokens(lambda: engine).contains("j1")  # type: ignore[arg-type, return-value]


# --- no body is read before the token is checked ---------------------------------------


async def test_a_20_mb_unauthenticated_post_is_refused_without_reading_the_body() -> None:
    app = create_ledger_app(Settings(database_url=NOWHERE, token_secret=SECRET))
    # what the lifespan would put there; a request past the token check reads the body
    app.state.ledger = LedgerState(writer=None, engine=None, max_body_bytes=3 * 2**20)  # type: ignore[arg-type]
    app.state.revoked_tokens = None  # no database here: revocation has its own test
    consumed: list[int] = []

    async def twenty_megabytes() -> AsyncIterator[bytes]:
        for i in range(20):
            consumed.append(i)
            yield b" " * 2**20

    async def post(headers: dict[str, str]) -> httpx.Response:
        consumed.clear()
        async with _client(app) as client:
            return await client.post("/v1/events", content=twenty_megabytes(), headers=headers)

    for headers in (
        {},
        _bearer("not-a-token"),
        _bearer(create_token("z" * 40, "m", ["events:write"])),  # another server's
    ):
        started = time.monotonic()
        resp = await post(headers)
        took = time.monotonic() - started
        _refused(resp)
        assert consumed == [], f"{len(consumed)} MB read before the 401"
        assert took < 0.5, took
    # a genuine token without a write scope: 403, nothing read either
    resp = await post(_bearer(create_token(SECRET, "m", ["finance:read", "audit:read"])))
    assert resp.status_code == 403 and consumed == [], resp.text
    # the control: with a write scope the body is read, up to the limit (413)
    resp = await post(_bearer(create_token(SECRET, "m", ["events:write"])))
    assert resp.status_code == 413 and len(consumed) >= 3, (resp.text, consumed)


# --- secrets never appear in logs or answers ----------------------------------------------


async def test_secrets_never_appear_in_logs_or_error_bodies(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_ledger_app(
        Settings(database_url=NOWHERE, token_secret=SECRET, token_previous_secrets=PREVIOUS)
    )
    head, body, sig = create_token(SECRET, "m", ["audit:read"]).split(".")
    attempts = [
        "",
        "Bearer",
        "Bearer garbage",
        f"Bearer {head}.{body}.{sig[:-4]}AAAA",
        f"Bearer {create_token('y' * 40, 'm', ['audit:read'])}",
        f"Bearer {create_token(SECRET, 'm', ['audit:read'], ttl_seconds=1, now=1.0)}",
        f"Bearer {create_token(SECRET, 'm', ['finance:read'])}",  # 403
        f"Basic {_b64(f'u:{SECRET}'.encode())}",
    ]
    seen: list[str] = []
    async with _client(app) as client:
        for header in attempts:
            for method, path in (("GET", "/v1/events"), ("POST", "/v1/events")):
                resp = await client.request(method, path, headers={"Authorization": header})
                assert resp.status_code in (401, 403), resp.text
                seen.append(resp.text)
                seen.extend(f"{k}: {v}" for k, v in resp.headers.items())
    # a refused setting is not echoed either
    for bad in (SECRET[:20], f"{PREVIOUS},{SECRET[:20]}"):
        with pytest.raises(pydantic.ValidationError) as refused:
            Settings(token_secret=SECRET, token_previous_secrets=bad)
        seen.append(str(refused.value))
    seen.append(repr(app.state.token_secret))
    seen.append(repr(Settings(token_secret=SECRET, token_previous_secrets=PREVIOUS)))
    seen.extend(record.getMessage() for record in caplog.records)
    seen.append(caplog.text)
    text = "\n".join(seen)
    for secret in (SECRET, PREVIOUS, SECRET[:20], PREVIOUS[:20]):
        assert secret not in text


# --- every route is scoped ------------------------------------------------------------------

_OPEN = {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}


def _concrete(path: str) -> str:
    """A path with every `{param}` filled by an id that matches `ID_PATTERN`."""
    return re.sub(r"\{[^}]+\}", "id-1", path)


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, included routers entered (FastAPI >= 0.16x keeps
    an included router as one `_IncludedRouter` entry of `app.routes`)."""
    for route in routes:
        if isinstance(route, Route):
            for method in sorted(route.methods or ()):
                yield method, prefix + route.path
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")


async def test_every_route_of_tally_dev_refuses_no_token_and_no_scope() -> None:
    # `tally dev`'s app, routes and all, without its lifespan (no database, no broker):
    # a request that got past the checks would fail, so a 2xx or a 5xx is a hole
    app = build_app(Settings(database_url=NOWHERE, token_secret=SECRET))
    routes = sorted({(m, p) for m, p in _walk(app.routes) if p not in _OPEN})
    documented = {
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if path not in _OPEN
    }
    assert documented <= set(routes), documented - set(routes)  # the walk misses none
    assert {("POST", "/v1/events"), ("GET", "/v1/events"),
            ("GET", "/v1/projects/{project_id}/finances"),
            ("POST", "/v1/projects/{project_id}/recalculate"), ("POST", "/v1/recalculations"),
            ("GET", "/v1/billing-records/{billing_record_id}")} <= set(routes)  # fmt: skip
    no_scope = _bearer(create_token(SECRET, "nobody", []))
    async with _client(app) as client:
        for method, route_path in routes:
            path = _concrete(route_path)
            for params in ({}, {"as_of": "1"}):
                for headers, status in (({}, 401), (no_scope, 403)):
                    resp = await client.request(method, path, params=params, headers=headers)
                    what = f"{method} {path} {params} -> {resp.status_code} {resp.text}"
                    assert resp.status_code == status, what
                    if method != "HEAD":
                        assert resp.json()["error"]["code"] in ("unauthorized", "forbidden")


# --- the CLI ---------------------------------------------------------------------------------


def test_token_create_prints_the_token_and_its_id_and_expiry_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TALLY_TOKEN_SECRET", SECRET)
    monkeypatch.delenv("TALLY_TOKEN_PREVIOUS_SECRETS", raising=False)
    parser = argparse.ArgumentParser()
    admin.configure_token(parser)
    for argv, ttl in (
        (["create", "--scope", "finance:read", "--subject", "bob"], DEFAULT_TTL_SECONDS),
        (["create", "--scope", "all", "--ttl", "3600"], 3600),
    ):
        assert admin.token(parser.parse_args(argv)) == 0
        out, err = capsys.readouterr()
        token = out.strip()
        who = verify_token(SECRET, token)
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
        assert claims["exp"] - claims["iat"] == ttl
        assert f"jti={who.token_id}" in err and "expires=" in err
        assert token not in err and SECRET not in out + err
    with pytest.raises(SystemExit):
        parser.parse_args(["create", "--scope", "audit:read", "--ttl", "0"])
