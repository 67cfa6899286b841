"""engagectl: the operators' CLI. Talks gRPC to the server; `tenants`, `token mint` and `db upgrade`
act on the server's own configuration (run them where the server's environment is)."""

from __future__ import annotations

import importlib.metadata
import sys
from typing import Any

import grpc
import typer
from grpc_status import rpc_status
from typer._click import exceptions as click_errors  # typer vendors click: its exceptions live only here

from clients.engagectl import (
    accounts,
    apps,
    attributes,
    audiences,
    balances,
    banners,
    campaigns,
    channels,
    completion,
    contacts,
    customers,
    db,
    deliveries,
    demo,
    event_types,
    events,
    goals,
    health,
    holdings,
    import_data,
    ingest_file,
    insights,
    journeys,
    notifications,
    offers,
    otp,
    passes,
    payment_alerts,
    personas,
    products,
    report_views,
    reports,
    rules,
    statements,
    status,
    subscriptions,
    templates,
    tenants,
    token,
    transactions,
)
from clients.engagectl.context import CliContext
from clients.engagectl.output import CommandFailed, OutputFormat, choose_format, error_line
from server.domain.errors import DomainError

PROG = "engagectl"
EXIT_SERVER_ERROR = 1
EXIT_USAGE = 2

app = typer.Typer(no_args_is_help=True, add_completion=True, pretty_exceptions_enable=False,
                  help="Operate an Engage deployment.", epilog=(
                      "Output: tables on a terminal, tab-separated columns when piped; --json or -o json|table|wide "
                      "before or after the command. Exit codes: 0 done, 1 the server (or store) refused, "
                      "2 a usage error."))


def _version(value: bool) -> None:
    if value:
        try:
            version = importlib.metadata.version("engage")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        print(f"{PROG} {version}")
        raise typer.Exit(0)


def _json_flag(value: bool) -> None:
    if value:
        choose_format(OutputFormat.json)


def _output_choice(value: OutputFormat | None) -> None:
    if value is not None:
        choose_format(value)


@app.callback()
def main(
    ctx: typer.Context,
    address: str = typer.Option("127.0.0.1:50051", envvar="ENGAGE_ADDRESS", metavar="HOST:PORT",
                                help="gRPC server host:port."),
    token_: str | None = typer.Option(None, "--token", envvar="ENGAGE_TOKEN", metavar="JWT",
                                      help="Bearer JWT for the calls (engagectl token mint makes one)."),
    json_output: bool = typer.Option(False, "--json", callback=_json_flag,
                                     help="Machine-readable JSON instead of tables (same as -o json)."),
    output: OutputFormat | None = typer.Option(None, "-o", "--output", callback=_output_choice, case_sensitive=False,
                                               help="table (default), wide (more columns) or json."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print engagectl's version and exit."),
) -> None:
    ctx.obj = CliContext(address=address, token=token_)


app.command("health")(health.health)
app.command("status")(status.status)
app.add_typer(tenants.app, name="tenants")
app.add_typer(token.app, name="token")
app.add_typer(db.app, name="db")
app.add_typer(customers.app, name="customers")
app.add_typer(accounts.app, name="accounts")
app.add_typer(holdings.app, name="holdings")
app.add_typer(statements.app, name="statements")
app.add_typer(statements.payments_app, name="scheduled-payments")
app.add_typer(balances.app, name="balances")
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
app.add_typer(payment_alerts.app, name="payment-alerts")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(deliveries.app, name="deliveries")
app.add_typer(otp.app, name="otp")
app.add_typer(passes.app, name="passes")
app.add_typer(goals.app, name="goals")
app.add_typer(journeys.app, name="journeys")
app.add_typer(attributes.app, name="attributes")
app.add_typer(personas.app, name="personas")
app.add_typer(audiences.app, name="audiences")
app.add_typer(products.app, name="products")
report_views.register(reports.app)
app.add_typer(reports.app, name="reports")
app.add_typer(rules.app, name="rules")
app.add_typer(banners.app, name="banners")
app.add_typer(notifications.app, name="notifications")
app.add_typer(offers.app, name="offers")
app.command("completion")(completion.completion)


def _rpc_error_line(error: grpc.aio.AioRpcError | grpc.RpcError) -> str:
    """`error: CODE REASON: message: field: what is wrong; ...`, one line: the ErrorInfo reason and
    the BadRequest field violations (which field of the request, and why) from the status details."""
    reason, violations = "", []
    try:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        if status is not None:
            from google.rpc import error_details_pb2

            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    reason = f" {info.reason}"
                elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    violations += [f"{v.field}: {v.description}" if v.field else v.description
                                   for v in bad.field_violations]
    except Exception:  # details are a bonus; the code and message are enough
        pass
    message = " ".join((error.details() or "").split())  # one line, whatever the server's text holds
    extra = "; ".join(" ".join(v.split()) for v in violations if v not in message)
    return f"error: {error.code().name}{reason}: {message}" + (f": {extra}" if extra else "")


def _output_parameters() -> list[Any]:
    """--json and -o as every command's own options, so that they work after the subcommand too
    (`engagectl apps list --json`); they set the same process-wide choice as the root's."""
    holder = typer.Typer(add_completion=False)

    @holder.command()
    def options(
        json_output: bool = typer.Option(False, "--json", callback=_json_flag, expose_value=False,
                                         help="Machine-readable JSON instead of tables (same as -o json)."),
        output: OutputFormat | None = typer.Option(None, "-o", "--output", callback=_output_choice,
                                                   expose_value=False, case_sensitive=False,
                                                   help="table (default), wide (more columns) or json."),
    ) -> None:
        pass

    return list(typer.main.get_command(holder).params)


def _no_type_shown(ctx: Any = None) -> None:
    return None


def _name_values(command: Any) -> None:
    """Metavars that say what a value is: an argument `APP_ID` rather than `<str>`, an option's value
    its name in capitals unless the command named it; flags show none."""
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        if param.metavar is None and getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.metavar is None and not param.type_descriptor.is_choice:
            param.metavar = (param.name or "value").upper()
        if param.param_type_name == "argument" and not param.type_descriptor.is_choice:
            # typer's help prints an argument's type (`<str>`) beside its name, which already says it.
            param.display_type_rich = _no_type_shown


def _leaves(command: Any) -> list[Any]:
    children = getattr(command, "commands", None)
    if children is None:
        return [command]
    return [leaf for child in children.values() for leaf in _leaves(child)]


def _groups(command: Any) -> list[Any]:
    children = getattr(command, "commands", None)
    if children is None:
        return []
    return [command, *(group for child in children.values() for group in _groups(child))]


def build() -> Any:
    """The click command tree typer builds, with the conventions every command shares."""
    root = typer.main.get_command(app)
    shared = _output_parameters()
    for leaf in _leaves(root):
        taken = {opt for param in leaf.params for opt in (*param.opts, *param.secondary_opts)}
        leaf.params.extend(p for p in shared if not taken & {*p.opts, *p.secondary_opts})
        _name_values(leaf)
    for group in _groups(root):
        _name_values(group)
    return root


def _usage_line(error: Any) -> str:
    where = error.ctx.command_path if error.ctx is not None else PROG
    # typer's value conversion words its messages as pydantic does ("Value error, ..."): internals.
    message = error.format_message().replace(": Value error, ", ": ")
    return f"error: {message} (see '{where} --help')"


def run() -> None:
    """Entry point: 0 when done; 1 with one line on stderr when the server (or the store) refused;
    2 for a usage error; the message never names a Python class."""
    try:
        # Without standalone mode typer returns the code of typer.Exit instead of raising it.
        sys.exit(build().main(args=sys.argv[1:], prog_name=PROG, standalone_mode=False) or 0)
    except grpc.RpcError as error:
        error_line(_rpc_error_line(error))
        sys.exit(EXIT_SERVER_ERROR)
    except DomainError as error:
        error_line(f"error: {error.code}: {error.message}")
        sys.exit(EXIT_SERVER_ERROR)
    except CommandFailed as failed:
        error_line(f"error: {failed}")
        sys.exit(EXIT_SERVER_ERROR)
    except click_errors.NoArgsIsHelpError:  # `engagectl tenants`: typer printed the help when raising this
        sys.exit(EXIT_USAGE)
    except click_errors.UsageError as error:
        error_line(_usage_line(error))
        sys.exit(EXIT_USAGE)
    except click_errors.ClickException as error:
        error_line(f"error: {error.format_message()}")
        sys.exit(error.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        error_line("aborted")
        sys.exit(130)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except RecursionError:
        error_line("error: the input is nested too deeply")
        sys.exit(EXIT_SERVER_ERROR)
    except Exception as error:
        error_line(f"error: {error or 'unexpected failure'}")
        sys.exit(EXIT_SERVER_ERROR)


if __name__ == "__main__":
    run()
