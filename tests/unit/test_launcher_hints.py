"""What `make run` tells its user to type next fits the settings it runs with: engagectl's address when the
port is not the default, and how to let the workers reach a local sink."""

import typer.main

from clients.engagectl.main import app
from server.config import Settings
from server.launcher import DEFAULT_CLIENT_ADDRESS, hints


def test_the_default_port_needs_no_address():
    [try_line, _] = hints(Settings(_env_file=None, grpc_host="127.0.0.1", grpc_port=50051))
    assert "ENGAGE_ADDRESS" not in try_line


def test_another_port_is_exported_as_engagectls_address_before_the_first_command():
    [try_line, _] = hints(Settings(_env_file=None, grpc_host="127.0.0.1", grpc_port=50071))
    assert try_line.startswith("try: export ENGAGE_ADDRESS=127.0.0.1:50071 && .venv/bin/engagectl tenants create")


def test_a_wildcard_listen_address_is_reached_on_loopback():
    assert "ENGAGE_ADDRESS=127.0.0.1:50072 " in hints(Settings(_env_file=None, grpc_host="0.0.0.0", grpc_port=50072))[0]
    assert "ENGAGE_ADDRESS=[::1]:50051 " in hints(Settings(_env_file=None, grpc_host="::1", grpc_port=50051))[0]


def test_the_launchers_default_is_engagectls():
    [address] = [p.default for p in typer.main.get_command(app).params if p.name == "address"]
    assert address == DEFAULT_CLIENT_ADDRESS == f"127.0.0.1:{Settings.model_fields['grpc_port'].default}"


def test_without_loopback_allowed_the_hint_says_how_to_allow_it():
    [_, egress] = hints(Settings(_env_file=None, provider_networks_allowed=""))
    assert "ENGAGE_PROVIDER_NETWORKS_ALLOWED=127.0.0.0/8 make run" in egress


def test_with_loopback_allowed_the_hint_says_it_is_for_development():
    [_, egress] = hints(Settings(_env_file=None, provider_networks_allowed="127.0.0.0/8"))
    assert "may send to this machine" in egress and "development only" in egress


def test_a_setting_that_is_not_a_network_is_named():
    [_, egress] = hints(Settings(_env_file=None, provider_networks_allowed="localhost"))
    assert "ENGAGE_PROVIDER_NETWORKS_ALLOWED: 'localhost' is not a network" in egress
