"""Process-wide runtime settings, applied once when a `tally` command starts."""

from __future__ import annotations

import gc

#: Tally's processes allocate many small, long-lived objects (decoded events, hour
#: entries, cached projects). With CPython's default thresholds (700, 10, 10) the
#: collector runs every few hundred allocations and regularly walks every object
#: alive, which halves the speed of reading the log; collections this much rarer
#: keep cycles bounded while costing almost nothing.
GC_THRESHOLDS = (100_000, 50, 100)


def tune_gc() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def settle_loaded_state() -> None:
    """Call once a long-lived state is loaded (the ledger's write model): it is frozen,
    never walked by the collector again, and the thresholds above apply here too (for
    an app run without the `tally` command, as in tests). Idempotent."""
    tune_gc()
    gc.freeze()
