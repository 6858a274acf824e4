"""A NAS's answer to a Disconnect or CoA: English where it is recorded, said in the
reader's language where the CLI prints it (the protocol's names as they are)."""

from __future__ import annotations


def test_an_answer_is_english_as_text_and_said_in_the_readers_language() -> None:
    from citynet import catalogs
    from citynet.domains import registered
    from radius.coa import NO_ANSWER, CoaResult

    silent = CoaResult(False, NO_ANSWER, attempts=3)
    acked = CoaResult(True, "CoA-ACK", attempts=1)
    with catalogs.speaking("zh-CN", registered()):
        assert (silent.said(), acked.said()) == ("无应答，共尝试 3 次", "CoA-ACK，共尝试 1 次")
        assert str(silent) == "no answer after 3 attempt(s)"  # a record's, a log's
    assert silent.said() == "no answer after 3 attempt(s)"
