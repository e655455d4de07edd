"""`tally replay`: rebuild every projection from the log into `projection_next`,
compare it with the live one, print any difference per project, optionally swap.

Exit code 0 when the live projection equals the rebuild, 1 when any project
differs (or lags behind and a swap was asked for).
"""

from __future__ import annotations

import argparse
import asyncio
import os
from concurrent.futures import ProcessPoolExecutor

from shared.infra.settings import Settings


def configure_main(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--swap",
        action="store_true",
        help="make the rebuild the live projection (workers pause meanwhile)",
    )
    parser.add_argument(
        "--batch", type=int, default=50_000, help="log positions per read (a window of the log)"
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="shard processes of the rebuild (default: one per core; 1: in this process)",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=10.0,
        help="seconds to wait for live workers to reach the rebuilt position",
    )
    parser.add_argument("--max-lines", type=int, default=20, help="differences printed per project")


def main(args: argparse.Namespace) -> int:
    database_url = Settings().require_database_url()
    jobs = getattr(args, "jobs", 1)
    if jobs > 1:
        # first: the shards import the pricing core while this process does
        from services.recalc.service_layer import shard_pool

        with shard_pool.start(jobs) as pool:
            return asyncio.run(run(database_url, args, pool))
    return asyncio.run(run(database_url, args))


async def run(
    database_url: str, args: argparse.Namespace, pool: ProcessPoolExecutor | None = None
) -> int:
    import asyncpg

    from services.recalc.service_layer.replay import Replayer
    from shared.infra.db import plain_dsn

    conn = await asyncpg.connect(plain_dsn(database_url))
    try:
        replayer = Replayer(
            batch=args.batch, jobs=getattr(args, "jobs", 1), dsn=plain_dsn(database_url)
        )
        report = await replayer.rebuild(conn, pool)
        print(
            f"replayed {report.events} events up to position {report.position}"
            f" in {report.read_seconds:.2f}s ({report.events_per_second:,.0f} events/s);"
            f" {replayer.projects} projects written in {report.write_seconds:.2f}s"
        )
        await replayer.compare(conn, wait_seconds=args.wait)
        for project_id, error in sorted(report.unpriceable.items()):
            print(f"project {project_id}: cannot be priced ({error}); left out of the rebuild")
        for project_id in report.behind:
            print(f"project {project_id}: live projection has not reached {report.position} yet")
        for project_id, diffs in sorted(report.differences.items()):
            print(f"project {project_id}: {len(diffs)} difference(s)")
            for diff in diffs[: args.max_lines]:
                print(f"  {diff.describe()}")
        if not report.differences and not report.behind:
            print("no difference: the live projection equals the replay of the log")
        else:
            print(f"{len(report.differences)} project(s) differ, {len(report.behind)} behind")
        status = 1 if report.differences or report.behind else 0
        if args.swap:
            if report.behind:
                print("not swapped: live workers are behind; retry when they have caught up")
                return 1
            old = await replayer.swap(conn)
            print(
                f"swapped: the rebuild (position {replayer.position}) is the live projection;"
                f" the old one is kept as schema {old}"
            )
        return status
    finally:
        await conn.close()
