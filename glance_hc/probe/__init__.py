"""The host probe: host_probe.py runs on the host, transport.py carries it there and back."""
