"""Resumable, verified downloads against a real HTTP server on 127.0.0.1 with real faults."""

from __future__ import annotations

import hashlib
import os

import pytest

from heygem.net.download import (
    DestinationTaken,
    Download,
    DownloadError,
    DownloadOptions,
    download,
    human_size,
    part_path,
)
from heygem.testing.fileserver import FileServer, dead_url

SIZE = 3_000_000  # bytes: big enough for many blocks, small enough for a quick test
FAST = DownloadOptions(attempts=3, backoff=0.01, timeout=10, block=64 * 1024)


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def job(payload: bytes, dest, *urls: str) -> Download:
    return Download(tuple(urls), len(payload), hashlib.sha256(payload).hexdigest(), dest)


def test_full_download_is_verified_and_named_only_at_the_end(server, payload, tmp_path):
    url = server.serve("/w.pth", payload)
    dest = tmp_path / "w.pth"
    seen = []

    def hook(p):
        seen.append(p.done)
        assert not dest.exists()  # the final name appears only once verified

    assert download(job(payload, dest, url), hook, FAST) == dest
    assert dest.read_bytes() == payload
    assert not part_path(dest).exists()
    assert seen == sorted(seen) and seen[-1] == SIZE and len(seen) > 10
    assert [(r.status, r.range) for r in server.requests] == [(200, None)]


def test_a_dropped_connection_resumes_with_range(server, payload, tmp_path):
    url = server.serve("/w.pth", payload, drop_at=0.4)
    dest = tmp_path / "w.pth"
    assert download(job(payload, dest, url), None, FAST) == dest
    assert dest.read_bytes() == payload
    first, second = server.requests
    assert (first.status, first.sent) == (200, int(0.4 * SIZE))
    assert second.status == 206 and second.range == f"bytes={int(0.4 * SIZE)}-"
    assert server.sent() < 1.5 * SIZE  # resumed, not restarted


def test_a_part_left_by_an_earlier_run_is_resumed(server, payload, tmp_path):
    url = server.serve("/w.pth", payload)
    dest = tmp_path / "w.pth"
    part_path(dest).write_bytes(payload[:1_000_000])
    download(job(payload, dest, url), None, FAST)
    assert dest.read_bytes() == payload
    assert [(r.status, r.range) for r in server.requests] == [(206, "bytes=1000000-")]


def test_a_server_that_ignores_range_restarts_cleanly(server, payload, tmp_path):
    url = server.serve("/w.pth", payload, drop_at=0.4, honour_range=False)
    dest = tmp_path / "w.pth"
    download(job(payload, dest, url), None, FAST)
    assert dest.read_bytes() == payload  # the whole file again, not the tail appended to the head
    assert [r.status for r in server.requests] == [200, 200]
    assert server.requests[1].range is not None and server.requests[1].sent == SIZE


def test_wrong_bytes_of_the_right_size_are_refused(server, payload, tmp_path):
    wrong = bytearray(payload)
    wrong[SIZE // 2] ^= 0xFF
    url = server.serve("/w.pth", bytes(wrong))
    dest = tmp_path / "w.pth"
    with pytest.raises(DownloadError, match="wrong bytes") as caught:
        download(job(payload, dest, url), None, FAST)
    assert not dest.exists() and not part_path(dest).exists()
    assert len(server.requests) == 1  # a URL that served it wrong is not asked again
    assert caught.value.failures[0].startswith(url)


def test_a_small_trap_file_is_refused_as_the_wrong_size(server, tmp_path):
    trap = os.urandom(167_000)
    url = server.serve("/checkpoints/wav2lip.pth", trap)
    expected = Download((url,), 145_000_000, "0" * 64, tmp_path / "wav2lip.pth")
    with pytest.raises(DownloadError, match="wrong size: 167 kB, expected 145 MB"):
        download(expected, None, FAST)
    assert not expected.dest.exists() and not part_path(expected.dest).exists()


def test_an_unreachable_url_falls_back_to_the_next(server, payload, tmp_path):
    url = server.serve("/w.pth", payload)
    missing = server.url("/gone.pth")  # 404
    dest = tmp_path / "w.pth"
    download(job(payload, dest, dead_url(), missing, url), None, FAST)
    assert dest.read_bytes() == payload
    assert [(r.path, r.status) for r in server.requests] == [("/gone.pth", 404), ("/w.pth", 200)]


def test_redirects_are_followed_and_keep_the_resume_request(server, payload, tmp_path):
    server.serve("/cdn/w.pth", payload, drop_at=0.5)
    url = server.serve("/resolve/w.pth", b"", redirect_to="/cdn/w.pth")
    dest = tmp_path / "w.pth"
    download(job(payload, dest, url), None, FAST)
    assert dest.read_bytes() == payload
    statuses = [(r.path, r.status, r.range) for r in server.requests]
    assert statuses[-1] == ("/cdn/w.pth", 206, f"bytes={SIZE // 2}-")


def test_every_url_failing_lists_each_failure(payload, tmp_path):
    dest = tmp_path / "w.pth"
    urls = (dead_url("/a"), dead_url("/b"))
    with pytest.raises(DownloadError) as caught:
        download(job(payload, dest, *urls), None, FAST)
    assert [line.split(": ")[0] for line in caught.value.failures] == list(urls)
    assert "unreachable" in caught.value.failures[0]
    assert not dest.exists() and not part_path(dest).exists()


def test_a_connection_that_keeps_dropping_is_retried_then_given_up(server, payload, tmp_path):
    url = server.serve("/w.pth", payload, drop_at=0.9, drops=10, reset=True, honour_range=False)
    dest = tmp_path / "w.pth"
    with pytest.raises(DownloadError, match="connection"):
        download(job(payload, dest, url), None, FAST)
    assert len(server.requests) == FAST.attempts
    assert 0 < part_path(dest).stat().st_size <= int(0.9 * SIZE)  # kept: the next run resumes it


def test_a_verified_file_is_not_fetched_again(server, payload, tmp_path):
    url = server.serve("/w.pth", payload)
    dest = tmp_path / "w.pth"
    dest.write_bytes(payload)
    download(job(payload, dest, url), None, FAST)
    assert server.requests == []


def test_another_file_at_the_destination_is_never_replaced(server, payload, tmp_path):
    """A user's own weights under the name: refused, untouched, nothing fetched; and a file that
    appears while the download runs is not replaced either."""
    url = server.serve("/w.pth", payload)
    dest = tmp_path / "w.pth"
    theirs = os.urandom(SIZE)  # same size, other bytes: a fine-tune
    dest.write_bytes(theirs)
    with pytest.raises(DestinationTaken, match="w.pth is already there and is not this file"):
        download(job(payload, dest, url), None, FAST)
    assert dest.read_bytes() == theirs and server.requests == [] and not part_path(dest).exists()
    dest.unlink()

    def meanwhile(p):
        if p.done == SIZE:  # verified bytes in the .part, not yet named: someone copies a file in
            dest.write_bytes(theirs)

    with pytest.raises(DestinationTaken, match="appeared while downloading"):
        download(job(payload, dest, url), meanwhile, FAST)
    assert dest.read_bytes() == theirs


def test_a_server_that_cannot_resume_this_part_starts_over_once(server, payload, tmp_path):
    """Resumed at the wrong place (a broken proxy), or refused (416: the .part no longer fits
    the server's file): the .part is thrown away and the file asked from its start, not the
    same Range again and again."""
    url = server.serve("/w.pth", payload, wrong_range=True)
    dest = tmp_path / "w.pth"
    part_path(dest).write_bytes(payload[: SIZE // 3])
    assert download(job(payload, dest, url), None, FAST).read_bytes() == payload
    assert [r.status for r in server.requests] == [206, 200]  # the bad resume, then from zero

    shorter = server.serve("/short.pth", payload[: SIZE // 2])  # a mirror with another file
    dest = tmp_path / "x.pth"
    part_path(dest).write_bytes(payload[: SIZE // 2 + 10])
    with pytest.raises(DownloadError, match="refused to resume"):
        download(job(payload, dest, shorter), None, FAST)
    assert [r.status for r in server.requests[2:]] == [416, 200]  # then the wrong size: next URL
    assert not part_path(dest).exists()  # not kept for a resume that cannot work


def test_a_progress_hook_that_raises_stops_the_download_and_keeps_the_part(server, payload, tmp_path):
    url = server.serve("/w.pth", payload)
    dest = tmp_path / "w.pth"

    def stop(p):
        if p.done > SIZE // 2:
            raise KeyboardInterrupt  # Ctrl-C in the CLI's bar

    with pytest.raises(KeyboardInterrupt):
        download(job(payload, dest, url), stop, FAST)
    kept = part_path(dest).stat().st_size
    assert SIZE // 2 < kept < SIZE and not dest.exists()
    assert download(job(payload, dest, url), None, FAST).read_bytes() == payload
    assert server.requests[-1].range == f"bytes={kept}-"  # resumed where it stopped


def test_a_second_downloader_of_the_same_file_is_refused(server, payload, tmp_path):
    """Two processes (here, two threads: the lock is per open file) fetching one destination:
    the second says another process is on it, the first finishes."""
    import threading

    url = server.serve("/w.pth", payload, hold_at=0.5)
    dest = tmp_path / "w.pth"
    first = threading.Thread(target=download, args=(job(payload, dest, url), None, FAST))
    first.start()
    assert server.held.wait(30)  # the first is half-way, its .part locked
    with pytest.raises(DownloadError, match="another process is downloading this file now"):
        download(job(payload, dest, url), None, FAST)
    server.release()
    first.join(30)
    assert dest.read_bytes() == payload


def test_human_sizes():
    assert [
        human_size(n) for n in (512, 167_000, 89_843_225, 435_801_865, 1_999_000_000, 2_400_000_000_000)
    ] == [
        "512 B",
        "167 kB",
        "89.8 MB",
        "436 MB",
        "2 GB",
        "2.4 TB",
    ]
