"""Writing an ExportView stream into a file that survives an interruption (docs/exports.md#resuming).

Each chunk is appended and flushed, and only then is the sidecar state file (FILE.resume) rewritten to say
how many bytes of whole chunks the file holds and the chunk's resume token. Whatever stops the export
(Ctrl-C, the connection lost, the server stopped, the process killed), the sidecar names a chunk boundary:
a resumed export cuts the file back to it and asks the server to go on from that chunk's token, so the
file ends up byte for byte what an uninterrupted export writes.

Parquet keeps its footer at the end of the file, so it cannot be appended to after an interruption. Its
chunks (Arrow IPC record batches, the first one after the schema) are spooled into FILE.arrows instead,
which is resumed like a CSV file; once the last chunk is in, the spool is rewritten as FILE, one row group
per chunk, read one batch at a time, and removed."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

from engage.reporting.v1 import exports_pb2 as pb

STATE_SUFFIX = ".resume"
SPOOL_SUFFIX = ".arrows"


class ResumeRefused(Exception):
    """The file cannot be resumed as asked: no sidecar, or one of another export."""


@dataclass
class ExportState:
    """The sidecar: what the export is (request without its resume token, base64) and how far it got."""

    request: str
    format: str
    resume_token: str = ""
    bytes_written: int = 0
    rows: int = 0
    chunks: int = 0
    total_rows: int = 0
    complete: bool = False


@dataclass(frozen=True)
class ExportOutcome:
    rows: int
    total_rows: int
    resume_token: str
    complete: bool


def request_text(request: pb.ExportViewRequest) -> str:
    """The request as the sidecar records it (deterministic serialization, resume token cleared)."""
    copy = pb.ExportViewRequest()
    copy.CopyFrom(request)
    copy.resume_token = ""
    return base64.b64encode(copy.SerializeToString(deterministic=True)).decode()


class ExportFile:
    """One export into `path`: fresh, or resumed from its sidecar."""

    def __init__(self, path: Path, request: pb.ExportViewRequest, format_name: str) -> None:
        self.path = path
        self.state_path = path.with_name(path.name + STATE_SUFFIX)
        self.parquet = request.format == pb.EXPORT_FORMAT_PARQUET
        # Where the chunks go: the file itself, or Parquet's spool.
        self.target = path.with_name(path.name + SPOOL_SUFFIX) if self.parquet else path
        self.state = ExportState(request_text(request), format_name)

    def resume(self) -> ExportState:
        """Reads the sidecar of an interrupted export of the same request and cuts the chunks' file back to
        its last whole chunk."""
        try:
            saved = ExportState(**json.loads(self.state_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ResumeRefused(f"no interrupted export to resume: {self.state_path} does not exist") from None
        except (ValueError, TypeError) as error:
            raise ResumeRefused(f"{self.state_path} is not an export's state file") from error
        if (saved.request, saved.format) != (self.state.request, self.state.format):
            raise ResumeRefused(f"{self.state_path} is the state of an export with other arguments: give the "
                                "same view, filters and format to resume it")
        if not saved.complete:
            with self.target.open("r+b") as out:
                out.truncate(saved.bytes_written)
        self.state = saved
        return saved

    async def write(self, chunks: AsyncIterable[pb.ExportChunk], advance: Callable[[int, int], None]) -> ExportOutcome:
        """Appends each chunk and records it; `advance(rows, total_rows)` after each. The stream's errors
        propagate, leaving the file and sidecar at the last whole chunk."""
        out: IO[bytes] | None = None
        try:
            if not self.state.complete:
                async for chunk in chunks:
                    if out is None:  # made with the first chunk: a refused export leaves no file
                        out = self.target.open("ab" if self.state.chunks else "wb")
                    out.write(chunk.data)
                    out.flush()
                    self._record(chunk, out.tell())
                    advance(chunk.row_count, chunk.total_rows)
                    if not chunk.resume_token:
                        break
        finally:
            if out is not None:
                out.close()
        if self.state.complete:
            self._finish()
        return ExportOutcome(self.state.rows, self.state.total_rows, self.state.resume_token, self.state.complete)

    def _record(self, chunk: pb.ExportChunk, length: int) -> None:
        state = self.state
        state.resume_token = chunk.resume_token
        state.bytes_written = length
        state.rows += chunk.row_count
        state.chunks += 1
        state.total_rows = chunk.total_rows
        state.complete = not chunk.resume_token
        written = self.state_path.with_name(self.state_path.name + ".tmp")
        written.write_text(json.dumps(asdict(state)), encoding="utf-8")
        os.replace(written, self.state_path)  # atomic: the sidecar is always one whole state

    def _finish(self) -> None:
        if self.parquet:
            spool_to_parquet(self.target, self.path)
            self.target.unlink()
        self.state_path.unlink(missing_ok=True)


def spool_to_parquet(spool: Path, destination: Path) -> None:
    """The spooled Arrow IPC stream as a Parquet file, one row group per record batch (one chunk), read
    and written one batch at a time."""
    import pyarrow as pa  # here: engagectl starts without it unless a Parquet file is written
    import pyarrow.parquet as pq

    written = destination.with_name(destination.name + ".tmp")
    with pa.OSFile(str(spool), "rb") as source:
        reader = pa.ipc.open_stream(source)
        with pq.ParquetWriter(str(written), reader.schema) as writer:
            for batch in reader:
                if batch.num_rows:
                    writer.write_batch(batch)
    os.replace(written, destination)
