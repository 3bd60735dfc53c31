"""``chain/pages.py``: a paginated read is bounded in pages and must move on; a breach scores
the endpoint that answered it down (finding 5: endless pages ran for 4,850 pages, 224 MiB)."""

from __future__ import annotations

import pytest

from autobot.chain.endpoints import Endpoint, EndpointPool
from autobot.chain.pages import PageGuard
from autobot.errors import RpcProtocolError


def _pool() -> tuple[EndpointPool, Endpoint]:
    endpoint = Endpoint(url="http://node0.example:8000/", client=None)
    return EndpointPool([endpoint]), endpoint


def test_a_read_within_the_bounds_passes() -> None:
    pool, node = _pool()
    guard = PageGuard("events x", pool, max_pages=3)
    guard.page(node, cursor="1", items=(1, 2))
    guard.page(node, cursor="2", items=(3, 4), seen={1, 2})
    guard.page(node, cursor=None, items=(5,), seen={1, 2, 3, 4})
    assert guard.pages == 3
    assert node.total_failures == 0


def test_more_pages_than_allowed_fail_the_read_and_score_the_endpoint_down() -> None:
    pool, node = _pool()
    guard = PageGuard("views::list_by_all_tags", pool, max_pages=2)
    guard.page(node, cursor="1")
    guard.page(node, cursor="2")
    with pytest.raises(RpcProtocolError, match=r"list_by_all_tags: more than 2 pages \(page 3\)"):
        guard.page(node, cursor="3")
    assert node.total_failures == 1


@pytest.mark.parametrize(
    ("cursor", "items", "seen", "why"),
    [
        ("1", (), (), "the cursor does not move on"),
        (None, (1, 2), {1, 2, 3}, "a page repeats what was read already"),
    ],
)
def test_a_read_that_does_not_move_on_fails(
    cursor: str | None, items: tuple[int, ...], seen: set[int], why: str
) -> None:
    pool, node = _pool()
    guard = PageGuard("read", pool, max_pages=100)
    guard.page(node, cursor="1", items=(9,))
    with pytest.raises(RpcProtocolError, match=why):
        guard.page(node, cursor=cursor, items=items, seen=seen)
    assert node.total_failures == 1


def test_a_breach_without_a_known_endpoint_fails_all_the_same() -> None:
    pool, node = _pool()
    guard = PageGuard("events x", pool, max_pages=1)
    guard.page(None, cursor="a")  # a read resumed from a stored cursor
    with pytest.raises(RpcProtocolError, match="more than 1 pages"):
        guard.page(None, cursor="b")
    assert node.total_failures == 0
