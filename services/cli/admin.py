"""`tally migrate`, `tally token create` and `tally token revoke`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime

from shared.infra.auth import DEFAULT_TTL_SECONDS, SCOPES, issue_token
from shared.infra.db import create_engine
from shared.infra.migrate import upgrade
from shared.infra.revocation import revoke
from shared.infra.settings import SettingError, Settings


def configure_migrate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default="head", help="target revision (default: head)")


def migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    upgrade(settings.require_database_url(), args.revision)
    print(f"database at revision {args.revision}")
    return 0


def configure_token(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="print a new bearer token (its id and expiry go to stderr)"
    )
    create.add_argument(
        "--scope",
        action="append",
        choices=[*SCOPES, "all"],
        required=True,
        help="a scope the token carries (repeat for several; 'all' for every scope)",
    )
    create.add_argument("--subject", default="cli", help="who the token is for (the `actor`)")
    create.add_argument(
        "--ttl",
        type=_positive,
        default=None,
        help=f"lifetime in seconds (default {DEFAULT_TTL_SECONDS}: 90 days)",
    )
    revoke = actions.add_parser("revoke", help="refuse a token from now on, by its id (jti)")
    revoke.add_argument("jti", help="the token's id, printed by `tally token create`")
    revoke.add_argument("--reason", default=None, help="why (kept in revoked_tokens)")


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("the lifetime must be a positive number of seconds")
    return value


def token(args: argparse.Namespace) -> int:
    settings = Settings()
    if args.action == "revoke":
        return asyncio.run(_revoke(settings, args.jti, args.reason))
    scopes = list(SCOPES) if "all" in args.scope else args.scope
    settings = settings.with_dev_token_secret()
    if settings.token_secret is None:
        raise SettingError(
            "TALLY_TOKEN_SECRET is not set, and there is no"
            f" {settings.dev_token_secret_path()} (made by `tally dev`)"
        )
    issued = issue_token(settings.require_token_keys(), args.subject, scopes, args.ttl)
    print(issued.token)
    expires = datetime.fromtimestamp(issued.expires_at, UTC).isoformat(timespec="seconds")
    print(f"jti={issued.token_id} expires={expires}", file=sys.stderr)
    return 0


async def _revoke(settings: Settings, token_id: str, reason: str | None) -> int:
    engine = create_engine(settings.require_database_url())
    try:
        new = await revoke(engine, token_id, reason)
    finally:
        await engine.dispose()
    print(f"token {token_id} {'revoked' if new else 'was already revoked'}", file=sys.stderr)
    return 0
