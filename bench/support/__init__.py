"""What the benchmarks share: a bench-only Django app (settings, URLs, views), servers, probes."""
