"""`hours_as_columns.IdKeys`: ids by the hash their hour rows store (migration 0009)."""

from __future__ import annotations

from services.recalc.adapters.hours_as_columns import IdKeys


def test_a_learnt_id_is_found_by_its_hash_and_its_hash_by_it() -> None:
    keys = IdKeys()
    keys.learn([(11, "task-a"), (12, "user-b")])
    assert keys.names == {11: "task-a", 12: "user-b"}
    assert keys.keys == {"task-a": 11, "user-b": 12}
    assert keys.unknown([11, 12, 13, 0]) == [13]  # 0: no id (NULL), never asked for
    assert keys.shared == set()


def test_two_ids_with_one_hash_mark_it_shared_and_the_first_stays() -> None:
    keys = IdKeys()
    keys.learn([(7, "a"), (7, "a")])  # the same id twice is no conflict
    assert keys.shared == set()
    keys.learn([(7, "b")])
    assert keys.shared == {7}
    assert keys.names[7] == "a"


def test_an_id_hashing_to_zero_is_shared_since_zero_means_no_id() -> None:
    keys = IdKeys()
    keys.learn([(0, "unlucky")])
    assert 0 in keys.shared


def test_past_its_limit_it_forgets_and_learns_again() -> None:
    keys = IdKeys(limit=2)
    keys.learn([(1, "a"), (2, "b"), (3, "c")])
    keys.learn([(4, "d")])  # over the limit: what was learnt is dropped first
    assert keys.names == {4: "d"}
    assert keys.keys == {"d": 4}
    assert keys.unknown([1, 4]) == [1]
