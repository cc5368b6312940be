"""One stage planned in a process of its own, for bench/planning_memory.py: its resident memory when ready to plan
(Django set up, the engine and connectors imported, as a worker is), its peak while planning (the kernel's own
high-water mark of this process's memory, VmHWM, so no spike between two samples is missed; not `ru_maxrss`,
which Linux carries over from the parent that forked it), and how long planning took.

    python bench/planner_process.py <stage id>     # prints one JSON line

It inherits the benchmark's environment (database, broker, settings) and does not import the harness, which
would make a fresh database.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2c_project.settings")

import django

django.setup()

from integration.services.stages import stage_start  # noqa: E402

MIB = 1024 * 1024


def high_water_mark() -> int:
    """Peak resident bytes of this process's memory since its exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def main() -> None:
    stage_id = int(sys.argv[1])
    start = psutil.Process().memory_info().rss
    began = time.monotonic()
    stage_start(stage_id=stage_id)
    seconds = time.monotonic() - began
    peak = high_water_mark()
    print(json.dumps({"start_mib": start / MIB, "peak_mib": max(peak, start) / MIB,
                      "end_mib": psutil.Process().memory_info().rss / MIB, "seconds": seconds}))


if __name__ == "__main__":
    main()
