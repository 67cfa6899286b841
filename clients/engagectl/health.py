from __future__ import annotations

import typer
from grpc_health.v1 import health_pb2

from clients.engagectl.context import cli_context
from clients.engagectl.output import emit_json, emit_table


def health(ctx: typer.Context, service: str = typer.Option("", metavar="SERVICE",
                                                         help="A service name; empty for the server.")) -> None:
    """Asks grpc.health.v1 whether the server is serving (exit 1 when it is not).

    Examples:
      engagectl health
      engagectl --address engage.internal:50051 health --service engage.ingest.v1.IngestService
    """
    cli = cli_context(ctx)
    response = cli.call(lambda stubs: stubs.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5))
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    if cli.json_output:
        emit_json({"service": service, "status": status})
    else:
        emit_table("health", ["service", "status"], [[service or "(server)", status]])
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        raise typer.Exit(1)
