"""The in-memory projection keeps the `Projections` contract (the same suite runs on
PostgreSQL)."""

from __future__ import annotations

import pytest
from projections_contract import ProjectionsContract, World
from recalc_memory import memory_world

from services.recalc.adapters.memory_projections import MemoryProjections


class TestMemoryProjections(ProjectionsContract):
    @pytest.fixture
    def world(self) -> World:
        return memory_world(MemoryProjections())
