"""Running a program under a pseudo-terminal, as a person at a terminal of a given width would."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Colour and cursor escapes: what a terminal interprets and a person never sees.
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def run_in_terminal(argv: Sequence[str], env: Mapping[str, str], cwd: Path, columns: int,
                    timeout: float = 120) -> tuple[int, str]:
    """(exit code, what the terminal showed: stdout and stderr together, escapes removed)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environment = {**env, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    environment.pop("NO_COLOR", None)
    process = subprocess.Popen(list(argv), cwd=cwd, env=environment, stdin=follower, stdout=follower,
                               stderr=follower, close_fds=True)
    os.close(follower)
    shown = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                process.kill()
                raise TimeoutError(f"{argv} did not finish in {timeout} s")
            ready, _, _ = select.select([leader], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            shown += chunk
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(leader)
    return code, _ESCAPES.sub("", shown.decode(errors="replace")).replace("\r\n", "\n")
