"""Process settings that make the ledger's ingest fast; applied by its lifespan."""

from __future__ import annotations

import gc

# Allocations between two young collections. Every appended event leaves tracked
# objects in the write model, so with the default (700) the collector runs every few
# events, and its older generations, holding the model (a million entries in the
# benchmark), get expensive to walk. Most objects die by reference counting anyway;
# a larger young generation lets the collector run 70 times less often (the store
# alone, 4 writers of 100-event batches: 16k -> 24k events/s).
GEN0_THRESHOLD = 50_000


def tune_gc() -> None:
    """Call once the write model is loaded: what was loaded is frozen (never walked
    by the collector again: it lives as long as the process), and young collections
    run less often. `tally` itself sets rarer collections for every process
    (shared/infra/runtime.py); this keeps the larger of the two, so the ledger is
    fast in `tally dev` and in tests too. Idempotent."""
    gc.freeze()
    gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(max(gen0, GEN0_THRESHOLD), gen1, gen2)
