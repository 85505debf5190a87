"""txlanes.executor.bench — the benchmark stage: TPS, speedup, re-executions, scaling."""
