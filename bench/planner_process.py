"""One stage planned in a process of its own, for bench/planning_memory.py: its resident memory when ready to plan
(Django set up, the engine and connectors imported, as a worker is), its peak while planning (the kernel's own
high-water mark, `ru_maxrss`, so no spike between two samples is missed), and how long planning took.

    python bench/planner_process.py <stage id>     # prints one JSON line

It inherits the benchmark's environment (database, broker, settings) and does not import the harness, which
would make a fresh database.
"""

from __future__ import annotations

import json
import os
import resource
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


def main() -> None:
    stage_id = int(sys.argv[1])
    start = psutil.Process().memory_info().rss
    began = time.monotonic()
    stage_start(stage_id=stage_id)
    seconds = time.monotonic() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    print(json.dumps({"start_mib": start / MIB, "peak_mib": max(peak, start) / MIB,
                      "end_mib": psutil.Process().memory_info().rss / MIB, "seconds": seconds}))


if __name__ == "__main__":
    main()
