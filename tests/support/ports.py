"""Ports for the servers the tests start, taken below the kernel's ephemeral range.

A port the kernel hands out for `bind(("", 0))` is free now, but a test often passes it to a process
that binds it seconds later (`make run` installs and migrates first). Meanwhile another test, on the
other xdist worker, may be handed the same port by the kernel for a sink or a metrics server, and the
client then reaches the wrong server. Ports picked here come from a range the kernel never hands out,
in a slice of its own per xdist worker, each probed before it is given."""

from __future__ import annotations

import itertools
import os
import socket

_FIRST_PORT = 20000  # the kernel's ephemeral range starts at 32768 (net.ipv4.ip_local_port_range)
_PORTS_PER_WORKER = 4000


def _worker_number() -> int:
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return int(name) if name.isdigit() else 0


_slice_start = _FIRST_PORT + (_worker_number() % 3) * _PORTS_PER_WORKER
_candidates = itertools.cycle(range(_slice_start, _slice_start + _PORTS_PER_WORKER))


def free_port() -> int:
    """A port free on 127.0.0.1 now that no other test worker and no kernel-chosen port will take."""
    for _ in range(_PORTS_PER_WORKER):
        port = next(_candidates)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {_slice_start}..{_slice_start + _PORTS_PER_WORKER - 1}")
