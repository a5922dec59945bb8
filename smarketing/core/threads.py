"""Overlapping CPU work with database waits: an iterator produced in a background thread."""

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def in_background(items: Iterable[T], *, depth: int = 2, name: str = "producer") -> Iterator[T]:
    """Yield `items`, produced by a thread while the caller works on the previous one.

    Pure-Python producers (parsing, generating) hold the GIL while the consumer mostly waits on the database's
    socket, so the two overlap. The queue bounds memory to `depth` items. An exception in the producer is raised
    in the consumer; closing the iterator early stops the producer. The producer must not touch the database.
    """
    chunks: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the consuming thread, which raises it
            offer(exc)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
