"""engagectl processes for the tests, forked from one that has imported engagectl already.

Each engagectl run is still a process of its own, with its own arguments, environment, working folder,
standard output and error and exit code, but it skips the second of CPU that importing typer, rich, grpc
and every service's stubs costs a fresh interpreter: the end-to-end tests make several hundred calls.
The zygote imports and waits; it never opens a channel or starts an event loop, so each child starts
gRPC and asyncio fresh, as a new process would.

A request on the zygote's Unix socket: the caller's stdout and stderr file descriptors (SCM_RIGHTS) with
an 8-byte length, then that many bytes of JSON {args, env, cwd}. The child answers its pid, then its exit
code, as 8-byte integers; a child that dies without an exit code closes the socket instead."""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

WORD = struct.Struct("!q")


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = connection.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("the other end closed the socket")
        chunks += chunk
    return bytes(chunks)


def _exit_code(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    print(value, file=sys.stderr)  # sys.exit("message") prints it and exits 1, as the interpreter does
    return 1


def _run_child(connection: socket.socket, request: dict[str, object], descriptors: list[int]) -> None:
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the zygote's, not what a new process starts with
        os.dup2(descriptors[0], 1)
        os.dup2(descriptors[1], 2)
        for descriptor in descriptors:
            os.close(descriptor)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        connection.sendall(WORD.pack(os.getpid()))
        sys.argv = ["engagectl", *[str(a) for a in request["args"]]]  # type: ignore[attr-defined]
        from clients.engagectl import main

        try:
            main.run()
            code = 0
        except SystemExit as exit_:
            code = _exit_code(exit_.code)
        except BaseException:
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed stream must not keep the exit code from the caller
                pass
        try:
            connection.sendall(WORD.pack(code))
        finally:
            os._exit(code)


def serve(socket_path: str) -> None:
    from clients.engagectl import main  # noqa: F401 - the import every child is spared

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path + ".tmp")
    listener.listen(16)
    os.rename(socket_path + ".tmp", socket_path)  # the caller waits for the name: it appears listening
    while True:
        connection, _ = listener.accept()
        header, descriptors, _flags, _address = socket.recv_fds(connection, WORD.size, 2)
        request = json.loads(_receive_exactly(connection, WORD.unpack(header)[0]))
        if os.fork() == 0:
            listener.close()
            _run_child(connection, request, descriptors)
        connection.close()
        for descriptor in descriptors:
            os.close(descriptor)


@dataclass
class ForkedRun:
    exit_code: int
    stdout: str
    stderr: str


class CliZygote:
    """The tests' side: start() once per test session, run() per engagectl call (blocking: call it from a
    thread)."""

    def __init__(self, folder: Path, environment: dict[str, str], cwd: Path) -> None:
        self._socket_path = str(folder / "engagectl.sock")
        self._environment = environment
        self._cwd = cwd
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.cli_zygote", self._socket_path], cwd=self._cwd,
            env=self._environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while not os.path.exists(self._socket_path):
            if self._process.poll() is not None:
                raise RuntimeError(f"the engagectl zygote exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("the engagectl zygote did not start listening")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def run(self, args: list[str], environment: dict[str, str], timeout: float) -> ForkedRun:
        request = json.dumps({"args": args, "env": environment, "cwd": str(self._cwd)}).encode()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
                socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(self._socket_path)
            socket.send_fds(connection, [WORD.pack(len(request))], [out.fileno(), err.fileno()])
            connection.sendall(request)
            pid = WORD.unpack(_receive_exactly(connection, WORD.size))[0]
            try:
                code = WORD.unpack(_receive_exactly(connection, WORD.size))[0]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                raise
            except ConnectionError:
                code = -1  # killed or crashed before it could answer
            out.seek(0)
            err.seek(0)
            return ForkedRun(code, out.read().decode(), err.read().decode())


if __name__ == "__main__":
    serve(sys.argv[1])
