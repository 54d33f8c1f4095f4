"""gunicorn settings for the sandbox servers `bench_sync` starts (`-c python:devtools.bench_server`).

The sandbox keeps DingTalk's QPS window in its own process and charges it after the injected
latency, so a garbage-collection pause of that process bunches admissions the client spaced
evenly. The real DingTalk gateway does not pause for our heap: freeze what the app loaded, so
that collections stay short.
"""

import gc


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
