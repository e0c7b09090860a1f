"""A small per-process cache of rendered page fragments, keyed by a stamp of the data they show.

A key always includes a stamp that changes whenever the underlying rows change, so an entry is
never stale: it simply stops being asked for and falls off the end.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup


class FragmentCache:
    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, key: Hashable, render: Callable[[], str]) -> Markup:
        """The cached fragment for `key`, or `render()`'s output, kept for next time."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        # `render` returns an autoescaped Jinja template's output. It runs outside the lock: a race
        # renders the same fragment twice, harmlessly.
        fragment = Markup(render())  # noqa: S704
        with self._lock:
            self._entries[key] = fragment
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return fragment

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
