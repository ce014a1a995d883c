"""The rendered windows each process keeps between on-call lookups.

A lookup renders a window around its instant's UTC day; lookups on the same day (every
"who is on call now?" of that day) reuse it. Entries are keyed by the schedule's
revision, which every change to it, its layers or overrides bumps in the same transaction
and which each lookup reads with the schedule row, so a change committed through any
process is seen by the next lookup in every process. Bounded: least recently used
entries go first.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from opsknight.schedules.rotation import Window

MAX_ENTRIES = 256

WindowKey = tuple[str, int, datetime]  # (schedule id, revision, UTC day)

_windows: OrderedDict[WindowKey, Window] = OrderedDict()


def window(key: WindowKey) -> Window | None:
    found = _windows.get(key)
    if found is not None:
        _windows.move_to_end(key)
    return found


def keep(key: WindowKey, rendered: Window) -> None:
    _windows[key] = rendered
    _windows.move_to_end(key)
    while len(_windows) > MAX_ENTRIES:
        _windows.popitem(last=False)
