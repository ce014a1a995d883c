"""The rendered windows each process keeps between on-call lookups.

A lookup renders a window around its instant's UTC day; lookups on the same day (every
"who is on call now?" of that day) reuse it. Entries are keyed by the schedule's
revision, which every change to it, its layers or overrides bumps in the same transaction
and which each lookup reads with the schedule row, so a change committed through any
process is seen by the next lookup in every process.
"""

from __future__ import annotations

from datetime import datetime

from opsknight.memo import BoundedMemo
from opsknight.schedules.rotation import Window

WindowKey = tuple[str, int, datetime]  # (schedule id, revision, UTC day)

windows: BoundedMemo[WindowKey, Window] = BoundedMemo(256)
