"""Geometry for the overview's small server-rendered SVG bar charts (no JavaScript, nothing fetched)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


def bars(values: Sequence[int], days: Sequence[date], *, width: int = 168, height: int = 32,
         gap: float = 2.0) -> list[Bar]:
    """One bar per day, scaled to the largest value; a zero day keeps a 1px stub so the axis reads as time."""
    peak = max(values, default=0) or 1
    slot = width / max(len(values), 1)
    result = []
    for index, (value, day) in enumerate(zip(values, days, strict=True)):
        bar_height = max(1.0, round(value / peak * (height - 2), 1))
        result.append(Bar(x=round(index * slot + gap / 2, 1), y=round(height - bar_height, 1),
                          width=round(slot - gap, 1), height=bar_height, value=value,
                          label=f"{day:%a %d %b}: {value} record{'' if value == 1 else 's'} failed"))
    return result
