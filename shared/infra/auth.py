"""Bearer tokens: JWTs signed with HS256, carrying scopes (docs/contract.md#credentials).

A token is a JWT (RFC 7519) through PyJWT. Its header names the algorithm, always
`HS256` (any other, `none` included, is refused), and the key, `kid`: the first 8
hex digits of the SHA-256 of the secret, so a verifier holding several secrets
(rotation) knows which one to try. Its claims:

- `sub`: who the token is for (becomes the event's `actor`);
- `scope`: the scopes, one string separated by spaces (as OAuth 2.0, RFC 8693
  and RFC 9068 write it), e.g. `"events:write finance:read"`;
- `iat`, `exp`: issued and expiry times, seconds since the epoch. Every token
  expires: `DEFAULT_TTL_SECONDS` (90 days) unless the caller asks for less or more;
  a token without `exp` is refused;
- `jti`: a random id, what `tally token revoke` names (see `shared.infra.revocation`).

The signing key is TALLY_TOKEN_SECRET; TALLY_TOKEN_PREVIOUS_SECRETS are still
accepted for verification (`TokenKeys`), which is how the secret is rotated.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Final

import jwt

SCOPES: Final = (
    "events:write",
    "rates:write",
    "finance:read",
    "finance:recalculate",
    "audit:read",
)
ALGORITHM: Final = "HS256"
#: What a token lives when no lifetime is asked for: 90 days.
DEFAULT_TTL_SECONDS: Final = 90 * 24 * 3600
#: How far a token's `iat` may lie in the future (clocks of several hosts).
CLOCK_SKEW_SECONDS: Final = 60
_REQUIRED: Final = ["sub", "scope", "iat", "exp", "jti"]


class InvalidToken(ValueError):
    """A token that is refused. The message is one of a few fixed phrases: it never
    quotes the token, its claims or a key."""


def key_id(secret: str) -> str:
    """The `kid` of a secret: the first 8 hex digits of its SHA-256."""
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class TokenKeys:
    """The signing secret and the older ones still accepted (rotation)."""

    current: str = field(repr=False)
    previous: tuple[str, ...] = field(default=(), repr=False)

    @property
    def kid(self) -> str:
        return key_id(self.current)

    def for_kid(self, kid: str) -> str | None:
        """The secret named `kid`, if it is held."""
        for secret in (self.current, *self.previous):
            if key_id(secret) == kid:
                return secret
        return None

    def __repr__(self) -> str:
        return f"TokenKeys(kid={self.kid!r}, previous={len(self.previous)})"


Keys = str | TokenKeys
"""A bare secret (signs and verifies alone) or a `TokenKeys`."""


def _keys(keys: Keys) -> TokenKeys:
    return keys if isinstance(keys, TokenKeys) else TokenKeys(keys)


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    scopes: frozenset[str]
    token_id: str | None = None
    expires_at: int | None = None

    def has(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str = field(repr=False)
    token_id: str
    expires_at: int


def issue_token(
    keys: Keys,
    subject: str,
    scopes: list[str] | tuple[str, ...],
    ttl_seconds: int | None = None,
    now: float | None = None,
) -> IssuedToken:
    """A new token signed with the current secret; `ttl_seconds` None: the default."""
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    ttl = DEFAULT_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    if ttl <= 0:
        raise ValueError("a token's lifetime must be positive")
    if not subject:
        raise ValueError("a token needs a subject")
    signing = _keys(keys)
    issued = int(now if now is not None else time.time())
    token_id = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "sub": subject,
        "scope": " ".join(sorted(set(scopes))),
        "iat": issued,
        "exp": issued + ttl,
        "jti": token_id,
    }
    token = jwt.encode(claims, signing.current, algorithm=ALGORITHM, headers={"kid": signing.kid})
    return IssuedToken(token=token, token_id=token_id, expires_at=issued + ttl)


def create_token(
    secret: Keys,
    subject: str,
    scopes: list[str] | tuple[str, ...],
    ttl_seconds: int | None = None,
    now: float | None = None,
) -> str:
    """A new token (the string alone); see `issue_token`."""
    return issue_token(secret, subject, scopes, ttl_seconds, now).token


def verify_token(secret: Keys, token: str, now: float | None = None) -> Principal:
    """The caller a token names, or `InvalidToken`: a bad or missing `kid`, an
    algorithm other than HS256, a bad signature, a missing claim, or expiry."""
    keys = _keys(secret)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm not allowed")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("no key id")
    key = keys.for_kid(kid)
    if key is None:
        raise InvalidToken("unknown key")
    try:
        # times are checked below, against `now`
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={
                "require": _REQUIRED,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("bad signature") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken("missing claim") from exc
    except jwt.InvalidAlgorithmError as exc:
        raise InvalidToken("algorithm not allowed") from exc
    except jwt.InvalidTokenError as exc:
        raise InvalidToken("malformed token") from exc
    return _principal(claims, time.time() if now is None else now)


def _principal(claims: dict[str, Any], now: float) -> Principal:
    sub, scope, iat, exp, jti = (claims[name] for name in _REQUIRED)
    if not (isinstance(sub, str) and sub and isinstance(scope, str) and isinstance(jti, str)):
        raise InvalidToken("malformed claims")
    if not all(isinstance(t, int) and not isinstance(t, bool) for t in (iat, exp)):
        raise InvalidToken("malformed claims")
    if now >= exp:
        raise InvalidToken("token expired")
    if iat > now + CLOCK_SKEW_SECONDS:
        raise InvalidToken("issued in the future")
    return Principal(
        subject=sub, scopes=frozenset(scope.split()), token_id=jti, expires_at=int(exp)
    )
