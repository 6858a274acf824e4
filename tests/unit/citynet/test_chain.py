"""Hash chains: every edit, deletion and truncation is found."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

from citynet import chain
from citynet.chain import GENESIS, Link


def build(n: int) -> list[Link]:
    links, previous = [], GENESIS
    for seq in range(1, n + 1):
        content = {"identity": f"1380013800{seq}", "at": datetime(2026, 1, 1, tzinfo=UTC)}
        digest = chain.row_hash(previous, content)
        links.append(Link(seq, previous, digest, content))
        previous = digest
    return links


def head(links: list[Link]) -> tuple[int, str]:
    return (links[-1].seq, links[-1].row_hash)


def test_an_intact_chain_verifies() -> None:
    links = build(5)
    assert chain.verify(links, (0, GENESIS), head(links)) == []


def test_an_edited_row_is_found() -> None:
    links = build(5)
    links[2] = replace(links[2], content={**links[2].content, "identity": "13900000000"})
    assert [str(p) for p in chain.verify(links, (0, GENESIS), head(links))] == [
        "row 3: content does not match its hash (edited)"]


def test_a_deleted_row_is_found() -> None:
    links = build(5)
    kept = links[:2] + links[3:]
    problems = [str(p) for p in chain.verify(kept, (0, GENESIS), head(links))]
    assert problems == ["row 4: rows 3..3 are missing",
                        "row 4: does not link to the row before it (a row was deleted or "
                        "replaced)"]


def test_deleting_the_newest_rows_is_found_by_the_head() -> None:
    links = build(5)
    [problem] = chain.verify(links[:3], (0, GENESIS), head(links))
    assert "the chain ends at row 3 but the recorded head is row 5" in str(problem)


def test_a_purged_prefix_verifies_from_its_base() -> None:
    links = build(5)
    base = (links[1].seq, links[1].row_hash)
    assert chain.verify(links[2:], base, head(links)) == []
    assert chain.verify(links[2:], (0, GENESIS), head(links)) != []


def test_datetimes_hash_the_same_from_any_driver() -> None:
    aware = datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    naive_utc = datetime(2026, 1, 1, 0, 0)
    assert chain.row_hash(GENESIS, {"at": aware}) == chain.row_hash(GENESIS, {"at": naive_utc})
