"""engagectl: the operators' CLI. Talks gRPC to the server; `tenants`, `token mint` and `db upgrade`
act on the server's own configuration (run them where the server's environment is)."""

from __future__ import annotations

import sys

import grpc
import typer
from grpc_status import rpc_status

from clients.engagectl import (
    accounts,
    apps,
    campaigns,
    channels,
    contacts,
    db,
    deliveries,
    demo,
    event_types,
    events,
    health,
    import_data,
    ingest_file,
    insights,
    otp,
    subscriptions,
    templates,
    tenants,
    token,
    transactions,
)
from clients.engagectl.context import CliContext
from clients.engagectl.output import errors
from server.domain.errors import DomainError

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Operate an Engage deployment.")


@app.callback()
def main(
    ctx: typer.Context,
    address: str = typer.Option("127.0.0.1:50051", envvar="ENGAGE_ADDRESS", help="gRPC server host:port."),
    token_: str | None = typer.Option(None, "--token", envvar="ENGAGE_TOKEN", help="Bearer JWT for the calls."),
    json_output: bool = typer.Option(False, "--json", help="Machine-readable JSON instead of tables."),
) -> None:
    ctx.obj = CliContext(address=address, token=token_, json_output=json_output)


app.command("health")(health.health)
app.add_typer(tenants.app, name="tenants")
app.add_typer(token.app, name="token")
app.add_typer(db.app, name="db")
app.add_typer(accounts.app, name="accounts")
app.add_typer(transactions.app, name="transactions")
app.add_typer(demo.app, name="demo")
app.add_typer(import_data.app, name="import")
app.command("ingest")(ingest_file.ingest)
app.add_typer(insights.app, name="insights")
app.add_typer(subscriptions.app, name="subscriptions")
app.add_typer(apps.app, name="apps")
app.add_typer(event_types.app, name="event-types")
app.add_typer(contacts.app, name="contacts")
app.add_typer(channels.app, name="channels")
app.add_typer(templates.app, name="templates")
app.add_typer(events.app, name="events")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(otp.app, name="otp")


def _rpc_error_line(error: grpc.aio.AioRpcError | grpc.RpcError) -> str:
    reason = ""
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        if status is not None:
            from google.rpc import error_details_pb2

            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason = f" {info.reason}"
    except Exception:  # details are a bonus; the code and message are enough
        pass
    return f"error: {error.code().name}{reason}: {error.details()}"  # type: ignore[union-attr]


def run() -> None:
    """Entry point: errors become one clear line on stderr and a non-zero exit code."""
    try:
        # Without standalone mode typer returns the code of typer.Exit instead of raising it.
        sys.exit(app(standalone_mode=False) or 0)
    except grpc.RpcError as error:
        errors.print(_rpc_error_line(error), markup=False, highlight=False)
        sys.exit(2)
    except DomainError as error:
        errors.print(f"error: {error.code}: {error.message}", markup=False, highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        errors.print("aborted")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # click's usage errors and the like
        import click

        if isinstance(error, click.ClickException):
            error.show()
            sys.exit(error.exit_code)
        errors.print(f"error: {type(error).__name__}: {error}", markup=False, highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    run()
