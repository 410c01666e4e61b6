"""The REST API's multipart reader in-process: streamed to disk, bounded per file and per
request, refused early when the disk has no room; and staged files moved into the batch."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest

from heygem.web.apierrors import ApiError
from heygem.web.restforms import submission
from heygem.web.service import Upload
from heygem.web.uploads import Limits, read_form

BOUNDARY = "hg-test-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
MB = 2**20


def part(field: str, name: str, size: int, kind: str = "video/mp4"):
    """One file part of ``size`` bytes, as blocks of at most 1 MB (a repeating pattern)."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
        f"Content-Type: {kind}\r\n\r\n"
    ).encode()
    block = bytes(range(256)) * 4096
    for start in range(0, size, MB):
        yield block[: min(MB, size - start)]
    yield b"\r\n"


def body(*parts):
    for one in parts:
        yield from one
    yield f"--{BOUNDARY}--\r\n".encode()


async def stream(blocks):
    for block in blocks:
        yield block


def read(blocks, staging, limits, content_length=None):
    return asyncio.run(read_form(CONTENT_TYPE, stream(blocks), staging, limits, content_length))


def refused(blocks, staging, limits, content_length=None) -> ApiError:
    with pytest.raises(ApiError) as caught:
        read(blocks, staging, limits, content_length)
    assert list(staging.iterdir()) == []  # nothing stays behind
    return caught.value


def never_read():
    """A body that fails the test if anything reads it."""
    raise AssertionError("the body was read")
    yield  # a generator: the error comes at the first read


def test_a_big_part_goes_to_disk_without_being_held_in_memory(tmp_path):
    """96 MB in one part: the reader holds a few blocks at a time, never the file."""
    tracemalloc.start()
    try:
        form = read(body(part("video", "big take.mp4", 96 * MB)), tmp_path, Limits(128 * MB, 256 * MB))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (stored,) = form.files
    assert (stored.name, stored.size, stored.path.stat().st_size) == ("big take.mp4", 96 * MB, 96 * MB)
    assert peak < 8 * MB, f"held {peak / MB:.1f} MB"
    form.remove()


def test_a_request_over_its_limit_is_refused_before_it_is_read(tmp_path):
    limits = Limits(file_bytes=4 * MB, request_bytes=6 * MB)
    error = refused(never_read(), tmp_path, limits, content_length=7 * MB)
    assert (error.status, error.code) == (413, "too_large") and "--max-request-mb" in error.message
    two = body(part("video", "a.mp4", 3 * MB), part("video", "b.mp4", 4 * MB))  # each under 4 MB
    error = refused(two, tmp_path, limits)  # no Content-Length: counted as it arrives
    assert (error.status, error.code) == (413, "too_large")


def test_an_upload_the_disk_has_no_room_for_is_refused_before_it_is_read(tmp_path):
    full = Limits(file_bytes=4 * MB, request_bytes=8 * MB, disk_margin=10**18)  # no disk is that big
    error = refused(never_read(), tmp_path, full, content_length=2 * MB)
    assert (error.status, error.code) == (507, "insufficient_storage") and "MB free" in error.message
    roomy = Limits(file_bytes=4 * MB, request_bytes=8 * MB, disk_margin=0)
    form = read(body(part("video", "a.mp4", 2 * MB)), tmp_path, roomy, content_length=2 * MB + 300)
    assert [f.size for f in form.files] == [2 * MB]
    form.remove()


def test_staged_files_are_moved_into_the_batch_not_copied(service, tmp_path, speech, face_clip):
    """A REST submission's staged files become the batch's own without a second copy (the
    same inode); the page's uploads (Gradio's cache) are copied, the cache keeps its file."""
    blocks = body(
        part("audio", "voice.wav", 0, "audio/wav"),
        part("video", "clip.mp4", 0),
    )
    form = read(blocks, tmp_path / "staging", Limits(64 * MB, 64 * MB))
    for staged, real in zip(form.files, (speech, face_clip), strict=True):
        staged.path.write_bytes(real.read_bytes())
        staged.size = real.stat().st_size
    given = submission(form)
    inodes = [u.path.stat().st_ino for u in (*given.audios, *given.videos)]
    batch_id = service.submit(given.audios, given.videos)
    stored = sorted(service.workspace.batch_uploads(batch_id).iterdir())
    assert sorted(p.stat().st_ino for p in stored) == sorted(inodes)
    assert not any(u.path.exists() for u in (*given.audios, *given.videos))
    cached = tmp_path / "gradio" / "clip.mp4"
    cached.parent.mkdir()
    cached.write_bytes(face_clip.read_bytes())
    service.submit(Upload(speech, "voice.wav"), [Upload.of(cached)])
    assert cached.exists()
