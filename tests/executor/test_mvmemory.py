"""The multi-version memory against a simple model: a dict of sorted versions per key."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from txlanes.executor.blockstm.mvmemory import ESTIMATE, NOT_FOUND, OK, READ_ERROR, MVMemory

SIZE = 6
KEYS = [("erc20.bal", 1, a) for a in range(3)]

ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("record"),
            st.integers(0, SIZE - 1),
            st.dictionaries(st.sampled_from(KEYS), st.integers(0, 9), max_size=3),
        ),
        st.tuples(st.just("estimate"), st.integers(0, SIZE - 1)),
        st.tuples(st.just("read"), st.sampled_from(KEYS), st.integers(0, SIZE)),
    ),
    max_size=40,
)


@given(ops)
def test_mvmemory_matches_model(script: list[tuple]) -> None:  # type: ignore[type-arg]
    mv = MVMemory(SIZE, lambda: None, contextlib.nullcontext())
    # model: key -> {txn_idx: (incarnation, value) | ESTIMATE}; incarnations counted per txn
    model: dict[tuple, dict[int, object]] = {k: {} for k in KEYS}  # type: ignore[type-arg]
    incarnations = [0] * SIZE
    written: list[set] = [set() for _ in range(SIZE)]  # type: ignore[type-arg]
    for op in script:
        if op[0] == "record":
            _, idx, writes = op
            incarnations[idx] += 1
            expected_new = bool(set(writes) - written[idx])
            assert mv.record(idx, incarnations[idx], {}, dict(writes)) == expected_new
            for key in written[idx] - set(writes):
                del model[key][idx]
            for key, value in writes.items():
                model[key][idx] = (incarnations[idx], value)
            written[idx] = set(writes)
        elif op[0] == "estimate":
            _, idx = op
            mv.convert_writes_to_estimates(idx)
            for key in written[idx]:
                model[key][idx] = ESTIMATE
        else:
            _, key, idx = op
            below = [i for i in sorted(model[key]) if i < idx]
            status, writer, incarnation, value = mv.read(key, idx)
            if not below:
                assert status == NOT_FOUND
            elif model[key][below[-1]] is ESTIMATE:
                assert (status, writer) == (READ_ERROR, below[-1])
            else:
                assert (status, writer, (incarnation, value)) == (
                    OK,
                    below[-1],
                    model[key][below[-1]],
                )


def test_validation_fails_on_a_changed_version_and_on_an_estimate() -> None:
    mv = MVMemory(3, lambda: None, contextlib.nullcontext())
    key = KEYS[0]
    mv.record(0, 0, {}, {key: 5})
    mv.record(2, 0, {key: (0, 0)}, {})
    assert mv.validate_read_set(2)
    mv.record(1, 0, {}, {key: 6})  # a lower transaction now writes the key: tx 2 read stale data
    assert not mv.validate_read_set(2)
    mv.record(2, 1, {key: (1, 0)}, {})
    assert mv.validate_read_set(2)
    mv.convert_writes_to_estimates(1)
    assert not mv.validate_read_set(2)


def test_validation_of_a_pre_state_read() -> None:
    mv = MVMemory(2, lambda: None, contextlib.nullcontext())
    key = KEYS[1]
    mv.record(1, 0, {key: None}, {})
    assert mv.validate_read_set(1)
    mv.record(0, 0, {}, {key: 1})
    assert not mv.validate_read_set(1)
    assert mv.snapshot() == {key: 1}
