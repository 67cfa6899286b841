"""The README's quickstart, run as a newcomer runs it: `make run` on its embedded defaults (SQLite,
its own Redis) in one process, then each shell block of the quickstart in one bash session, whose
output must be the output the README shows (ids and times of day masked: they differ per run)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.support.ports import free_port

README = REPO_ROOT / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
# What differs from run to run: generated ids, times of day, the page token that carries a time, and
# where the clone and its Redis live.
VARYING = [(re.compile(r"\b[0-9a-f]{32}\b"), "<id>"),
           (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)"), "<time>"),
           (re.compile(r"--page-token \S+"), "--page-token <token>")]
MARK = "=== next block ==="


def quickstart_blocks() -> list[tuple[str, str]]:
    """(commands, expected output) of each shell block of the quickstart, in order."""
    text = README.read_text()
    section = text[text.index("## Quickstart"):text.index("\n## ", text.index("## Quickstart") + 3)]
    blocks = [(m.group(1), m.group(2)) for m in BLOCK.finditer(section)]
    pairs = []
    for (kind, body), (next_kind, next_body) in zip(blocks, [*blocks[1:], ("", "")], strict=True):
        if kind == "sh":
            pairs.append((body, next_body if next_kind == "" else ""))
    return pairs


def masked(text: str) -> list[str]:
    lines = []
    for line in text.strip().splitlines():
        for pattern, replacement in VARYING:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    # stdout is written when engagectl exits, stderr (a "more results" notice) at once: the order of the
    # two in one pipe is not the README's concern.
    return sorted(lines)


async def _until_listening(launcher: asyncio.subprocess.Process, seen: list[str]) -> None:
    assert launcher.stderr is not None
    while True:
        line = (await asyncio.wait_for(launcher.stderr.readline(), 300)).decode()
        assert line, "make run ended before it served:\n" + "".join(seen)
        seen.append(line)
        if "gRPC on" in line:
            return


async def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    [(first, _), *steps] = quickstart_blocks()
    assert first.strip() == "make run"
    assert len(steps) >= 4, "the quickstart lost its steps"
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ENGAGE_") and key not in ("DATABASE_URL", "REDIS_URL", "MAKEFLAGS", "MFLAGS")}
    # var/ in a home of its own (not the clone's); the default port may be taken on a shared machine.
    env |= {"ENGAGE_HOME": str(home), "ENGAGE_GRPC_PORT": str(port), "ENGAGE_LOG_LEVEL": "WARNING"}
    launcher = await asyncio.create_subprocess_exec("make", "--no-print-directory", "run", cwd=REPO_ROOT, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                                                    start_new_session=True)
    seen: list[str] = []
    try:
        await _until_listening(launcher, seen)
        script = f"\necho '{MARK}'\n".join(commands for commands, _ in steps)
        shell = await asyncio.create_subprocess_exec(
            "bash", "-e", "-c", script, cwd=REPO_ROOT, env=env | {"ENGAGE_ADDRESS": f"127.0.0.1:{port}"},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(shell.communicate(), 600)
        printed = out.decode().split(f"{MARK}\n")
        assert shell.returncode == 0, out.decode()
        assert len(printed) == len(steps), out.decode()
        for (commands, expected), actual in zip(steps, printed, strict=True):
            assert masked(actual) == masked(expected), f"after\n{commands}"
    finally:
        if launcher.returncode is None:
            os.killpg(launcher.pid, signal.SIGINT)  # Ctrl-C, as the README says
            try:
                await asyncio.wait_for(launcher.wait(), 60)
            except TimeoutError:
                os.killpg(launcher.pid, signal.SIGKILL)
                await launcher.wait()
