"""Which login-record chain each RADIUS listener process of a cluster appends to (pure):
one of its own, from config alone (docs/radius.md, "One chain per listener process")."""

from __future__ import annotations

import pytest

from citynet.config import MAX_RADIUS_LISTENERS
from radius.records import LoginRecord, listener_chain
from radius.settings import MAX_RADIUS_NODES


def test_node_0_keeps_the_chains_it_had() -> None:
    assert listener_chain(0, None) == 0  # the only listener: chain 0, as before
    assert [listener_chain(0, n) for n in (1, 2, 3)] == [0, 1, 2]


def test_two_nodes_listeners_never_share_a_chain() -> None:
    assert [listener_chain(1, n) for n in (None, 1, 2)] == [64, 64, 65]
    every = [listener_chain(node, n) for node in range(MAX_RADIUS_NODES)
             for n in range(1, MAX_RADIUS_LISTENERS + 1)]
    assert len(set(every)) == len(every) == MAX_RADIUS_NODES * MAX_RADIUS_LISTENERS
    assert (min(every), max(every)) == (0, 4095)


def test_the_highest_chain_fits_the_chain_column() -> None:
    # a smallint on PostgreSQL: up to 32767
    assert LoginRecord.__table__.c.chain.type.__class__.__name__ == "SmallInteger"
    assert listener_chain(MAX_RADIUS_NODES - 1, MAX_RADIUS_LISTENERS) <= 32767


@pytest.mark.parametrize(("node", "listener", "message"), [
    (-1, 1, "node -1 is not 0 to 63"), (64, 1, "node 64 is not 0 to 63"),
    (0, 0, "listener 0 is not 1 to 64"), (0, 65, "listener 65 is not 1 to 64")])
def test_numbers_out_of_range_are_refused(node: int, listener: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        listener_chain(node, listener)
