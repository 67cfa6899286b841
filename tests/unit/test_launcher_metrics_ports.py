"""`make run` serves the server's and the worker's /metrics on fixed ports unless they are configured, on
other free ones when those are taken, and prints where."""

import socket

from server.config import Settings
from server.launcher import DEFAULT_METRICS_PORT, DEFAULT_WORKER_METRICS_PORT, metrics_addresses, metrics_ports


def test_configured_ports_are_kept():
    settings = Settings(_env_file=None, grpc_host="127.0.0.1", metrics_port=19464, worker_metrics_port=19465)
    assert metrics_ports(settings) == (19464, 19465)


def test_a_taken_default_gives_way_to_a_free_port():
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", DEFAULT_METRICS_PORT))
        except OSError:
            pass  # already held by something else on this machine: taken all the same
        server, worker = metrics_ports(Settings(_env_file=None, grpc_host="127.0.0.1"))
    assert server not in (0, DEFAULT_METRICS_PORT)
    assert worker != 0 and worker != server
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", server))  # free indeed


def test_the_printed_line_names_both_endpoints_as_reached_from_this_machine():
    assert metrics_addresses(Settings(_env_file=None, grpc_host="0.0.0.0"), 9464, 9465) == \
        "metrics: server http://127.0.0.1:9464/metrics, worker http://127.0.0.1:9465/metrics"
    assert metrics_addresses(Settings(_env_file=None, grpc_host="::1"), DEFAULT_METRICS_PORT,
                             DEFAULT_WORKER_METRICS_PORT).startswith("metrics: server http://[::1]:9464/metrics")
