"""Process and readiness probes and the metrics endpoint."""
