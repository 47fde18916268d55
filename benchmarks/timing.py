"""Repeated timings with their median and min-max (the machines are shared and noisy)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass


@dataclass
class Timing:
    times: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def text(self, unit: str = "s") -> str:
        scale = 1000 if unit == "ms" else 1
        return (
            f"{self.median * scale:,.{0 if unit == 'ms' else 2}f} {unit} "
            f"({min(self.times) * scale:,.{0 if unit == 'ms' else 2}f}–{max(self.times) * scale:,.{0 if unit == 'ms' else 2}f})"
        )


def timed(function, repeats: int) -> tuple[Timing, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return Timing(times), result
