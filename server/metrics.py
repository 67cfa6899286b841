"""Prometheus metrics of the server and the workers, each process serving its own on a port of its
own (ENGAGE_METRICS_PORT, ENGAGE_WORKER_METRICS_PORT; 0 = off). One place defines them; the RPC
interceptor and the workers' channel gateway record them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Histogram, start_http_server

from server.domain.engagement.entities import Delivery, DeliveryState

RPC_REQUESTS = Counter("engage_rpc_requests", "gRPC calls answered, by method and status code",
                       ["method", "code"])
RPC_SECONDS = Histogram("engage_rpc_duration_seconds", "Time to answer a gRPC call, by method", ["method"],
                        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SENDS = Counter("engage_delivery_sends", "Sends to a provider, by channel, provider and outcome (SENT, "
                "TEMPORARY_FAILURE: tried again later, PERMANENT_FAILURE)", ["channel", "provider", "outcome"])
DELIVERIES_RECORDED = Counter(
    "engage_deliveries_recorded", "Outcomes recorded by the workers, by channel, provider and the delivery's new "
    "state: QUEUED (to be tried again), SENT, FAILED, DEAD_LETTER (out of tries)", ["channel", "provider", "state"])
SEND_SECONDS = Histogram("engage_delivery_send_duration_seconds", "Time a provider took to take a message",
                         ["channel", "provider"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def count_recorded(delivery: Delivery, state: DeliveryState) -> None:
    DELIVERIES_RECORDED.labels(str(delivery.channel), delivery.provider, str(state)).inc()


def serve_metrics(host: str, port: int) -> Callable[[], None]:
    """Serves /metrics in a thread of its own; returns what stops it (and closes its socket)."""
    server, thread = start_http_server(port, addr=host)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop
