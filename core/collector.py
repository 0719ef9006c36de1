"""CPython's garbage collector, tuned for long-running processes that hold all of Django.

With the default thresholds a full collection rescans every object the process has: in a worker, 350-490
ms per collection on this machine, mid-payment; in a web process holding 2,000 event streams, fan-out
p99 0.68 s instead of 0.23 s. What exists once the process has started is frozen out of collections
(it lives as long as the process anyway), and collections are rarer.
"""

import gc
import os


def quiet_garbage_collection() -> None:
    """Call once the process (or a forked child) has loaded what it keeps. GC_THRESHOLD: objects
    allocated between young collections (CPython's default is 700)."""
    gc.freeze()
    gc.set_threshold(int(os.environ.get("GC_THRESHOLD", 100_000)), 50, 1000)
