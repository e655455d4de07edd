"""`make chaos`: Tally under load while its processes, broker and database fail.

`python -m chaos [--minutes M] [--seed S] [--out RELIABILITY.md]` starts its own
PostgreSQL and broker, runs Tally as separate processes (two ledgers, one relay, two
recalc workers in one consumer group), posts batches from 16 clients while seeded
faults hit one at a time, then checks that nothing acknowledged was lost or doubled
and that both topics and the projections agree with the log.
"""
