"""`tally`: the one command line of Tally (docs/contract.md#cli).

Sub-command modules import nothing heavy at module level and start nothing:
servers, engines and clients are made only when a sub-command runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from shared.infra.runtime import tune_gc
from shared.infra.settings import SettingError, Settings

# sub-command -> (module, function, help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "dev": ("services.cli.dev", "main", "everything on one machine (embedded servers if unset)"),
    "ledger": ("services.cli.serve", "ledger", "the ledger's HTTP API"),
    "relay": ("services.cli.serve", "relay", "the outbox relays (log and finance -> Kafka)"),
    "recalc": ("services.cli.serve", "recalc", "the recalc worker and its HTTP API"),
    "migrate": ("services.cli.admin", "migrate", "apply the database schema"),
    "token": ("services.cli.admin", "token", "API tokens: tally token create | revoke"),
    "replay": ("services.cli.replay", "main", "rebuild projections from the log and compare"),
    "audit": ("services.cli.audit", "main", "a project's finances as of a log position"),
    "status": ("services.cli.status", "main", "log head, relays, projects parked as unpriceable"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or of `only` (importing a sub-command's module
    to configure it costs: `tally replay` took 0.3 s to import the others' modules)."""
    parser = argparse.ArgumentParser(prog="tally", description=__doc__)
    subs = parser.add_subparsers(dest="command", required=True)
    for name, (module, func, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue  # a sub-command this installation does not ship
        sub = subs.add_parser(name, help=help_text)
        sub.set_defaults(_target=(module, func))
        configure = getattr(mod, "configure_" + func, None)
        if configure is not None:
            configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    named = words[0] if words and words[0] in COMMANDS else None
    args = build_parser(named).parse_args(words)
    tune_gc()
    module, func = args._target
    try:
        result = getattr(importlib.import_module(module), func)(args)
    except SettingError as exc:  # a missing setting: one line, no traceback
        print(f"tally {args.command}: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        print(f"tally {args.command}: {_settings_problem(exc)}", file=sys.stderr)
        return 2
    return int(result or 0)


def _settings_problem(exc: ValidationError) -> str:
    """The first refused TALLY_* variable, in one line (values are never shown)."""
    error = exc.errors(include_input=False)[0]
    name = "TALLY_" + "_".join(str(part) for part in error["loc"]).upper()
    problem = error["msg"].removeprefix("Value error, ")
    if name not in problem:
        problem = f"{name}: {problem}"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return problem + more


if __name__ == "__main__":
    sys.exit(main())
