"""The worker's project cache: an LRU bounded by weight (lines), not by count."""

from __future__ import annotations

from dataclasses import dataclass

from services.recalc.service_layer.cache import ProjectCache


@dataclass
class _Stored:
    weight: int


def cache(max_weight: int) -> tuple[ProjectCache, list[str]]:
    evicted: list[str] = []
    return ProjectCache(max_weight, evicted.append), evicted


def test_the_coldest_projects_go_when_the_weight_is_over_the_bound() -> None:
    c, evicted = cache(10)
    for name, weight in [("a", 4), ("b", 4), ("c", 2)]:
        c.put(name, _Stored(weight))  # type: ignore[arg-type]
    assert c.currsize == 10 and evicted == []
    assert c.get("a") is not None  # a is used: b is now the coldest
    c.put("d", _Stored(3))  # type: ignore[arg-type]
    assert evicted == ["b"] and "b" not in c and c.currsize == 9
    c.put("e", _Stored(7))  # type: ignore[arg-type]
    assert evicted == ["b", "c", "a"] and sorted(c) == ["d", "e"] and c.currsize == 10


def test_a_project_put_again_takes_its_new_weight_and_is_not_evicted_for_it() -> None:
    c, evicted = cache(10)
    c.put("a", _Stored(4))  # type: ignore[arg-type]
    c.put("b", _Stored(4))  # type: ignore[arg-type]
    c.put("a", _Stored(6))  # type: ignore[arg-type]
    assert evicted == [] and c.currsize == 10
    c.put("b", _Stored(5))  # type: ignore[arg-type]
    assert evicted == ["a"] and c.currsize == 5


def test_a_project_heavier_than_the_bound_is_not_kept_and_its_owner_is_told() -> None:
    c, evicted = cache(10)
    c.put("a", _Stored(3))  # type: ignore[arg-type]
    c.put("huge", _Stored(11))  # type: ignore[arg-type]
    assert "huge" not in c and evicted == ["huge"] and "a" in c


def test_pop_of_an_unknown_project_is_harmless() -> None:
    c, evicted = cache(10)
    assert c.pop("nope", None) is None and evicted == []
