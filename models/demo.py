"""Placeholder until every protocol has landed."""

from .workload import Workload


def demo_workload() -> Workload:
    return Workload()
