"""`evalclient load`: a performance probe of a running server — concurrency sweeps or Poisson request rates,
latency percentiles, throughput and goodput under latency targets."""
