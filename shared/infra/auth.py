"""Bearer tokens: HMAC-signed, carrying scopes (api.md, "Credentials and scopes").

A token is `tly_<payload>.<signature>`, both base64url; the payload is JSON
`{"sub", "scopes", "iat", "exp"?}`. The signing key is TALLY_TOKEN_SECRET.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Final

import orjson

SCOPES: Final = (
    "events:write",
    "rates:write",
    "finance:read",
    "finance:recalculate",
    "audit:read",
)
_PREFIX: Final = "tly_"


class InvalidToken(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def create_token(
    secret: str,
    subject: str,
    scopes: list[str] | tuple[str, ...],
    ttl_seconds: int | None = None,
    now: float | None = None,
) -> str:
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    issued = int(now if now is not None else time.time())
    body: dict[str, object] = {"sub": subject, "scopes": sorted(set(scopes)), "iat": issued}
    if ttl_seconds is not None:
        body["exp"] = issued + ttl_seconds
    payload = _b64(orjson.dumps(body))
    return f"{_PREFIX}{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str, now: float | None = None) -> Principal:
    if not token.startswith(_PREFIX) or token.count(".") != 1:
        raise InvalidToken("not a Tally token")
    payload, signature = token[len(_PREFIX) :].split(".")
    if not hmac.compare_digest(_sign(secret, payload), signature):
        raise InvalidToken("bad signature")
    try:
        body = orjson.loads(_unb64(payload))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidToken("unreadable payload") from exc
    exp = body.get("exp")
    if exp is not None and (now if now is not None else time.time()) >= exp:
        raise InvalidToken("token expired")
    return Principal(subject=str(body["sub"]), scopes=frozenset(body.get("scopes", [])))
