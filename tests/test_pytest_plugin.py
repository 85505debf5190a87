"""The pytest plugin, driven through pytester as a user's test suite would use it."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

# txlanes is already imported in this process, so pytester's runs cannot assertion-rewrite it.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")

USER_TESTS = """
from hypothesis import given, settings
from txlanes.checker.strategies import workloads

@settings(max_examples=25, derandomize=True, database=None, deadline=None)
@given(workload=workloads(accounts=2, hot_fraction=0.5))
def test_engine_matches_sequential(workload, txlanes_check):
    txlanes_check(workload)
"""


def test_a_ten_line_user_test_passes_on_blockstm(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*txlanes*", "*workloads checked against sequential*0 failed*"])


def test_the_same_test_catches_a_mutant(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("--txlanes-engine", "mutant:skip-validation")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["FAILED mutant:skip-validation (divergence, *", "  block 0, tx *", "  counterexample:"]
    )


def test_campaign_fixture_catches_a_users_buggy_engine(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from txlanes.executor import SequentialEngine

        class DropsLastWrite(SequentialEngine):
            def execute(self, block, state):
                result = super().execute(block, state)
                if result.writes:
                    result.writes.pop(next(reversed(result.writes)))
                return result

        @pytest.mark.txlanes(examples=20)
        def test_campaign(txlanes_campaign):
            txlanes_campaign(DropsLastWrite)

        @pytest.mark.txlanes(examples=10)
        def test_correct_engine(txlanes_campaign):
            txlanes_campaign(SequentialEngine)
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "FAILED DropsLastWrite · payments (divergence, 1 txs, failed 5 of 5 runs):",
            "  block 0: post-state*",
        ]
    )


def test_unknown_engine_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USER_TESTS)
    result = pytester.runpytest("--txlanes-engine", "nope")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*unknown engine 'nope'*"])


def test_options_are_grouped_under_txlanes(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        ["txlanes: check parallel execution engines:", "*--txlanes-engine*"]
    )


def test_an_external_engine_command_is_checked_on_the_kinds_it_declares(
    pytester: pytest.Pytester,
) -> None:
    fake = Path(__file__).parent / "fake_engines" / "engine.py"
    pytester.makepyfile(
        """
        import pytest
        from hypothesis import given, settings
        from txlanes.checker.strategies import workloads

        @pytest.mark.txlanes(examples=5)
        def test_campaign(txlanes_campaign, txlanes_target):
            assert txlanes_target.kinds == {"erc20.transfer"}
            txlanes_campaign()  # the configured engine, on its kinds only

        @settings(max_examples=5, database=None, deadline=None)
        @given(workload=workloads(accounts=3, mix=["erc20.transfer"]))
        def test_one_workload(workload, txlanes_check):
            txlanes_check(workload)
        """
    )
    command = shlex.join([sys.executable, str(fake), "--kinds", "erc20.transfer"])
    result = pytester.runpytest("--txlanes-engine-cmd", command)
    result.assert_outcomes(passed=2)
    result = pytester.runpytest("--txlanes-engine-cmd", f"{command} --mode crash")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*engine 'fake'*block request 1: exited with code 3*"])
