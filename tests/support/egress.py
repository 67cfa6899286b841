"""The test sinks listen on this machine's loopback, which the workers may reach only when allowed."""

from workers.channels.egress import EgressPolicy

LOCAL_NETWORKS = "127.0.0.0/8,::1/128"
LOCAL_EGRESS = EgressPolicy.from_setting(LOCAL_NETWORKS)
