"""Sharded execution: the cross-shard commit protocol (sans-IO) and the ways it is run."""
