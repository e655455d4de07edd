"""How big each run is: the full run of issue 5, `--quick` and `--smoke`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Size:
    name: str
    roles: int
    users: int
    companies: int
    projects: int  # the bulk-recalculation set; the first one is the big project
    tasks_per_project: int
    hours_total: int  # hour entries over all bulk projects, the big one included
    hours_big: int  # hour entries of the big project (single-project recalculation)
    side_projects: int  # where single-event ingest and freshness post, outside the bulk set
    single_events: int  # single-event ingest: events over all 16 clients
    single_clients: int
    single_seconds: float  # ... or until this many seconds have passed
    freshness_rate: int  # events/s posted during the freshness scenario
    freshness_seconds: float
    batch_size: int  # events per request of the batched ingest
    batch_concurrency: int  # requests in flight during the batched ingest
    limit_batch_rows: int  # rows of the executemany limit (a prefix of the ingest rows)
    roundtrips: int  # bare produce -> consume round trips
    catch_up_seconds: float  # how long the worker may take to catch up with the log


FULL = Size(
    name="full",
    roles=50,
    users=2000,
    companies=50,
    projects=1000,
    tasks_per_project=20,
    hours_total=1_000_000,
    hours_big=100_000,
    side_projects=8,
    single_events=20_000,
    single_clients=16,
    single_seconds=30.0,
    freshness_rate=500,
    freshness_seconds=10.0,
    batch_size=100,
    batch_concurrency=4,
    limit_batch_rows=300_000,
    roundtrips=2000,
    catch_up_seconds=1500.0,
)

QUICK = Size(
    name="quick",
    roles=20,
    users=200,
    companies=10,
    projects=20,
    tasks_per_project=20,
    hours_total=50_000,
    hours_big=10_000,
    side_projects=4,
    single_events=3000,
    single_clients=16,
    single_seconds=8.0,
    freshness_rate=500,
    freshness_seconds=3.0,
    batch_size=100,
    batch_concurrency=4,
    limit_batch_rows=50_000,
    roundtrips=500,
    catch_up_seconds=60.0,
)

SMOKE = Size(
    name="smoke",
    roles=4,
    users=12,
    companies=2,
    projects=3,
    tasks_per_project=4,
    hours_total=600,
    hours_big=200,
    side_projects=2,
    single_events=160,
    single_clients=16,
    single_seconds=3.0,
    freshness_rate=100,
    freshness_seconds=0.5,
    batch_size=100,
    batch_concurrency=2,
    limit_batch_rows=1000,
    roundtrips=50,
    catch_up_seconds=20.0,
)

#: for working on the recalculation paths: the full run's big project (100k entries)
#: and 199 bulk projects of the full run's size (~900 entries), ingested in seconds
MID = Size(
    name="mid",
    roles=50,
    users=2000,
    companies=50,
    projects=200,
    tasks_per_project=20,
    hours_total=280_000,
    hours_big=100_000,
    side_projects=8,
    single_events=5000,
    single_clients=16,
    single_seconds=8.0,
    freshness_rate=500,
    freshness_seconds=5.0,
    batch_size=100,
    batch_concurrency=4,
    limit_batch_rows=100_000,
    roundtrips=500,
    catch_up_seconds=600.0,
)

SIZES = {s.name: s for s in (FULL, MID, QUICK, SMOKE)}
