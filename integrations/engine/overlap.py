"""The thin concurrency layer of the booking loop: remote calls overlap, nothing else does.

`Pool` is a standard thread-pool executor whose threads close their database connections when it shuts
down (a client may use the Django cache, which can live in the database). `ahead` runs a listing a few pages
ahead in a thread of its own. How many requests leave at once, and how fast, is the client's business: its
parallel-request slots and rate limiter bound every call, whichever thread makes it.
"""

import queue
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

POLL = 0.2  # seconds between looks at the run's own business while waiting for a remote call


class Pool(ThreadPoolExecutor):
    def __init__(self, workers, name):
        super().__init__(max_workers=max(1, workers), thread_name_prefix=name)

    def shutdown(self, wait=True, *, cancel_futures=False):
        threads = len(self._threads)
        if threads and not self._shutdown:
            # Every idle thread takes exactly one of these (the barrier holds it until all have one).
            barrier = threading.Barrier(threads)
            for _thread in range(threads):
                self.submit(_close_connections, barrier)
        super().shutdown(wait=wait, cancel_futures=cancel_futures)


def _close_connections(barrier):
    try:
        barrier.wait(timeout=10)
    except threading.BrokenBarrierError:
        pass
    connections.close_all()


def ahead(iterable, *, chunk, idle=lambda: None):
    """Yield lists of up to `chunk` items of `iterable`: everything it has produced so far, which it does in a
    thread of its own. Its exceptions are raised here. `idle` is called while nothing has arrived yet."""
    items, stop = queue.Queue(maxsize=4 * chunk), threading.Event()
    done = object()

    def produce():
        try:
            for item in iterable:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=POLL)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as error:  # noqa: BLE001 (raised again in the consuming thread)
            items.put(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=produce, name="list", daemon=True)
    thread.start()
    try:
        while True:
            try:
                got = [items.get(timeout=POLL)]
            except queue.Empty:
                idle()
                continue
            while len(got) < chunk and got[-1] is not done and not isinstance(got[-1], BaseException):
                try:
                    got.append(items.get_nowait())
                except queue.Empty:
                    break
            last = got[-1]
            if last is done or isinstance(last, BaseException):
                got.pop()
            if got:
                yield got
            if last is done:
                return
            if isinstance(last, BaseException):
                raise last
    finally:
        stop.set()
