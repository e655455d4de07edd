"""The broker marker: how a relay tells a broker that lost its data from one that kept it."""

from __future__ import annotations

from services.relay.domain.broker_marker import BrokerMarker


def test_a_chunk_records_first_and_last_offset_per_partition() -> None:
    marker = BrokerMarker("t").advanced([(0, 5), (1, 2), (0, 6), (0, 7)])
    assert dict(marker.offsets) == {0: (5, 7), 1: (2, 2)}
    later = marker.advanced([(0, 8)])
    assert dict(later.offsets) == {0: (8, 8), 1: (2, 2)}


def test_offsets_going_back_in_a_partition_mean_the_broker_lost_data() -> None:
    marker = BrokerMarker("t").advanced([(0, 5), (0, 7)])
    assert not marker.regressed([(0, 8), (1, 0)])  # a partition never written before
    assert marker.regressed([(0, 0)])
    assert marker.regressed([(0, 7)])


def test_end_offsets_are_compared_with_the_first_offset_of_the_last_chunk() -> None:
    marker = BrokerMarker("t").advanced([(0, 10), (0, 19)])
    # Tansu reports end = base offset of the last batch + 1, so 11 still means "kept".
    assert not marker.behind({0: 11})
    assert not marker.behind({0: 20})
    assert marker.behind({0: 10})
    assert marker.behind({0: 0})
    assert marker.behind({})  # the partition is gone


def test_the_marker_survives_a_round_trip_through_the_database_text() -> None:
    marker = BrokerMarker("t").advanced([(3, 4), (11, 9)]).lost()
    again = BrokerMarker.parse(marker.dump(), "t")
    assert again == marker
    assert BrokerMarker.parse(None, "t") == BrokerMarker("t")


def test_a_marker_written_for_another_topic_counts_as_lost() -> None:
    marker = BrokerMarker("old").advanced([(0, 1)])
    assert BrokerMarker.parse(marker.dump(), "new").is_lost
