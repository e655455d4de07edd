"""RELIABILITY.md: the figures of a chaos run and what Tally promises (and does not)."""

from __future__ import annotations

import platform
import statistics
from datetime import UTC, datetime

from chaos.faults import KINDS
from chaos.run import SIZE, Result


def _sec(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{statistics.median(values):.1f} s / {max(values):.1f} s"


def fault_rows(result: Result) -> list[str]:
    faults = result.faults.done if result.faults else []
    rows = [
        "| fault | count | lasted (p50 / max) | first acknowledged write after"
        " (p50 / max) | projections caught up after (p50 / max) |",
        "|---|---:|---|---|---|",
    ]
    for kind in KINDS:
        mine = [f for f in faults if f.kind == kind]
        if not mine:
            rows.append(f"| {kind} | 0 | – | – | – |")
            continue
        never_ack = sum(f.first_ack is None for f in mine)
        never_up = sum(f.caught_up is None for f in mine)
        rows.append(
            f"| {kind} | {len(mine)} | {_sec([f.duration for f in mine])}"
            f" | {_sec([f.first_ack for f in mine if f.first_ack is not None])}"
            + (f" ({never_ack} never)" if never_ack else "")
            + f" | {_sec([f.caught_up for f in mine if f.caught_up is not None])}"
            + (f" ({never_up} never)" if never_up else "")
            + " |"
        )
    return rows


def render(result: Result, command: str) -> str:
    f = result.figures
    load = result.load
    seen = load.seen if load else None
    faults = result.faults.done if result.faults else []
    verdict = "every check passed" if result.ok else "SOME CHECKS FAILED"
    lines = [
        "# Reliability",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
        f" ({platform.machine()}, Python {platform.python_version()}): {verdict}.",
        "",
        "The run starts its own PostgreSQL (embedded, a temp data folder) and its own"
        " broker (Tansu, memory storage), then Tally as separate processes: `tally ledger`"
        " ×2, `tally relay` ×1, `tally recalc` ×2 in one consumer group. After reference"
        f" data ({SIZE.roles} roles, {SIZE.users} users, {SIZE.projects} projects of"
        f" {SIZE.tasks_per_project} tasks), 16 clients post batches of 1 to 6 events"
        " (HoursLogged mostly; HoursEdited, ExpenseRecorded, TaskUpdated) with event ids of"
        " their own, alternating between the two ledgers; a request that got no answer or"
        " a 503 is retried with the same event ids. One fault at a time, at seeded"
        " intervals: SIGKILL of the relay, a worker or a ledger (then a restart), the"
        " broker stopped and restarted empty, every process of PostgreSQL stopped"
        " (SIGSTOP) then continued, a bulk recalculation of every project. At the end the"
        " faults and the load stop, the system catches up, and the checks run.",
        "",
        "## Figures",
        "",
        "| | |",
        "|---|---|",
        f"| load with faults | {result.seconds:.0f} s (`--minutes {result.minutes:g}`,"
        f" `--seed {result.seed}`) |",
        f"| events acknowledged | {f.acked_events:,} in {f.acked_batches:,} batches"
        f" ({result.events_per_second:.0f} events/s) |",
        f"| lost | {f.lost} |",
        f"| duplicated | {f.duplicated} |",
        f"| batches refused (4xx) | {f.refused_batches} |",
        f"| batches unknown at the end | {f.unknown_batches} ({f.unknown_applied} applied) |",
        f"| log head | {f.head:,} |",
        f"| messages on the ledger topic | {f.ledger_messages:,} (re-sends and republishing"
        " after empty broker restarts included) |",
        f"| messages on the finance topic | {f.finance_messages:,} for"
        f" {f.finance_expected:,} distinct (project, position) |",
        f"| faults | {len(faults)} |",
        "| server errors (5xx but 503) | " + (f"{len(seen.server_errors)}" if seen else "–") + " |",
        "| 503 answers (during faults) | "
        + (f"{seen.statuses.get(503, 0)}" if seen else "–")
        + " |",
        "| requests without an answer (killed ledger, time-outs) | "
        + (f"{seen.no_answer}" if seen else "–")
        + " |",
        "| retries answered `200 duplicate` (the first attempt had been applied) | "
        + (f"{seen.duplicate_answers}" if seen else "–")
        + " |",
        f"| catch-up after the load | {result.catch_up if result.catch_up is not None else 'never'}"
        " s |",
        "",
        "### Faults and recovery",
        "",
        '"Lasted": a kill until the restarted process was ready; an outage as long as'
        " it was imposed (the broker's includes its stop: Tansu may take 5 s to exit);"
        " a bulk recalculation until it was accepted (`202`). Recovery"
        " is counted from the fault's end: the first write any client had acknowledged,"
        " and the time until every project's projection included the log's head as it"
        " stood then.",
        "",
        *fault_rows(result),
        "",
        "### Checks",
        "",
        "| check | | detail |",
        "|---|---|---|",
        *(
            f"| {c.name} | {'pass' if c.ok else '**FAIL**'} | {c.detail.replace('|', '/')} |"
            for c in result.checks
        ),
        "",
        "## What Tally promises",
        "",
        "- **Durability once `201`/`200` is answered.** An acknowledged event is committed"
        " in PostgreSQL's log; no later crash of a Tally process, broker loss or database"
        " pause takes it away (lost: 0 above).",
        "- **Idempotent retries by `event_id`.** A batch retried with the same event ids is"
        " appended once; a retry of an applied batch answers `200` with `duplicate: true`"
        " and the original positions. A bulk recalculation retried with the same `event_id`"
        " (or `Idempotency-Key`) appends nothing new.",
        "- **All or nothing per batch**, and gap-free positions in commit order.",
        "- **At-least-once delivery on both topics** (`tally.ledger.v1`, `tally.finance.v1`),"
        " including after a broker that lost its data: the relay notices and publishes"
        " again from the start. Consumers de-duplicate by (`project_id`, `position`).",
        "- **Order per key**: a key's messages arrive in position order (after de-duplication).",
        "- **Projections converge**: whatever was killed or paused, the live projection"
        " equals `tally replay`'s rebuild once the workers have caught up.",
        "- **A `503` (`database_unavailable`) during an outage**, never a 500; nothing is"
        " appended by a request that fails before its commit.",
        "",
        "## What it does not",
        "",
        "- **No exactly-once delivery on Kafka.** Re-sends after a relay crash and whole"
        " republishing after an empty broker restart are normal; consumers must"
        " de-duplicate.",
        "- **The embedded broker is memory-only.** A Tansu restart loses every topic; Tally"
        " recovers by republishing from its log, but consumers that kept offsets see the"
        " topic start over. Production runs on a replicated Apache Kafka"
        " (`deploy/`).",
        "- **A 503 or a time-out leaves the outcome unknown** when the database failed"
        " around the commit: the batch may or may not be in the log until it is retried"
        " with the same event ids (which then answers `201` or `200 duplicate`). A client"
        " that gives up instead does not know.",
        "- **No availability promise during an outage.** While PostgreSQL is paused or"
        " unreachable, writes answer 503 and reads may answer 503 or `409 not_caught_up`;"
        " while the broker is down, writes succeed but projections and the finance topic"
        " lag until it returns.",
        "- **No hand-over faster than the consumer group's.** A killed worker's partitions"
        " move to the other worker only after the group notices (aiokafka's session"
        " time-out, 10 s) and rebalances; meanwhile its projects' reads lag, and"
        ' `min_position` reads answer `409 not_caught_up` ("kill recalc" above).',
        "- **No order across keys**, and no bound on delivery latency.",
        "- **One relay per installation.** Two relays would interleave and break order per"
        " key; a killed relay must be restarted (by a supervisor), not doubled.",
        "",
    ]
    return "\n".join(lines)
