"""`tally migrate` and `tally token create`."""

from __future__ import annotations

import argparse

from shared.infra.auth import SCOPES, create_token
from shared.infra.migrate import upgrade
from shared.infra.settings import Settings


def configure_migrate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--revision", default="head", help="target revision (default: head)")


def migrate(args: argparse.Namespace) -> int:
    settings = Settings()
    upgrade(settings.require_database_url(), args.revision)
    print(f"database at revision {args.revision}")
    return 0


def configure_token(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="print a new bearer token")
    create.add_argument(
        "--scope",
        action="append",
        choices=[*SCOPES, "all"],
        required=True,
        help="a scope the token carries (repeat for several; 'all' for every scope)",
    )
    create.add_argument("--subject", default="cli", help="who the token is for (the `actor`)")
    create.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")


def token(args: argparse.Namespace) -> int:
    scopes = list(SCOPES) if "all" in args.scope else args.scope
    secret = Settings().require_token_secret()
    print(create_token(secret, args.subject, scopes, ttl_seconds=args.ttl))
    return 0
