"""ReportingService.ExportView: proto <-> domain translation only. Not built yet."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from engage.reporting.v1 import exports_pb2 as pb


class ExportRpcs:
    async def ExportView(self, request: pb.ExportViewRequest, context: grpc.aio.ServicerContext
                         ) -> AsyncIterator[pb.ExportChunk]:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "ExportView is not built yet")
        yield pb.ExportChunk()
