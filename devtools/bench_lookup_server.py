"""gunicorn settings for the portal `bench_lookup` serves (`-c python:devtools.bench_lookup_server`).

Each worker counts the Kingdee queries its lookup clients sent; when it ends (the benchmark stops the server
with SIGTERM, so every worker ends gracefully) it writes that count to `$BENCH_LOOKUP_COUNTS/<pid>.json`, so the
benchmark adds up the portal's own counters across processes. Garbage collection as in `bench_server`.
"""

import gc
import json
import os
from pathlib import Path


def post_worker_init(worker):
    gc.collect()
    gc.freeze()


def worker_exit(server, worker):
    folder = os.environ.get("BENCH_LOOKUP_COUNTS")
    if not folder:
        return
    from mobile import lookup

    calls = sum(count for client in lookup._clients.values() for path, count in client.calls.items()
                if "ExecuteBillQuery" in path)
    Path(folder, f"{os.getpid()}.json").write_text(json.dumps({"kingdee_calls": calls}))
