"""``make bench``: kontor's throughput and latency against PostgreSQL's own limit (see bench/README.md)."""
