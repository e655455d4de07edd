"""`python -m chaos [--minutes M] [--seed S] [--out RELIABILITY.md]`: exit 0 only when
every check passes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from chaos.report import render
from chaos.run import chaos

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load and faults")
    parser.add_argument("--seed", type=int, default=1, help="seed of the faults and the load")
    parser.add_argument("--out", type=Path, default=ROOT / "RELIABILITY.md", help="report file")
    args = parser.parse_args(argv)
    if not 0.2 <= args.minutes <= 120:
        parser.error("--minutes: between 0.2 and 120")

    def say(line: str) -> None:
        print(line, flush=True)

    result = asyncio.run(chaos(args.minutes, args.seed, say))
    print()
    for check in result.checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.detail}")
    command = f"python -m chaos --minutes {args.minutes:g} --seed {args.seed}"
    args.out.write_text(render(result, command))
    print(f"\n{'every check passed' if result.ok else 'SOME CHECKS FAILED'}; wrote {args.out}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
