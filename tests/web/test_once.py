"""A submission sent twice with the same request id makes one batch (review finding 52: Start
pressed twice while a long upload was copied queued the batch twice)."""

from __future__ import annotations

import threading

import pytest

from heygem.web.once import Once


def test_the_same_request_twice_waits_for_the_first_and_gets_its_answer():
    once, made = Once(), []
    copying = threading.Event()  # the first submit is copying its files
    go_on = threading.Event()

    def first() -> str:
        copying.set()
        go_on.wait(10)
        made.append("first")
        return "batch-1"

    answers = {}
    thread = threading.Thread(target=lambda: answers.setdefault("first", once.run("start-7", first)))
    thread.start()
    copying.wait(10)
    second = threading.Thread(
        target=lambda: answers.setdefault("second", once.run("start-7", lambda: "batch-2"))
    )
    second.start()
    second.join(0.2)
    assert second.is_alive()  # it waits for the first
    go_on.set()
    thread.join(10)
    second.join(10)
    assert answers == {"first": "batch-1", "second": "batch-1"} and made == ["first"]
    assert once.run("start-8", lambda: "batch-3") == "batch-3"  # another request id: another batch
    assert once.run(None, lambda: "batch-4") == "batch-4"  # no id: always made


def test_a_request_that_failed_is_tried_again():
    once = Once(kept=2)

    def refused() -> str:
        raise ValueError("disk full")

    with pytest.raises(ValueError):
        once.run("start-1", refused)
    assert once.run("start-1", lambda: "batch-1") == "batch-1"
    once.run("start-2", lambda: "batch-2")
    once.run("start-3", lambda: "batch-3")  # only the last two ids are kept
    assert once.run("start-1", lambda: "batch-again") == "batch-again"
