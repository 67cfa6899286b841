"""engagectl's entry point that also writes its peak resident memory (bytes) to $BENCH_RSS_FILE on the way
out: how the export bench reads the client's memory (the process's own high-water mark, however short)."""

from __future__ import annotations

import os
import resource
from pathlib import Path

from clients.engagectl.main import run

if __name__ == "__main__":
    try:
        run()
    finally:
        # Linux reports ru_maxrss in KiB.
        Path(os.environ["BENCH_RSS_FILE"]).write_text(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))
