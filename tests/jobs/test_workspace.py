"""The workspace: batch ids, safe names, what counts as an output."""

import itertools
import threading

from heygem.jobs.workspace import Workspace, safe_name


def test_batch_ids_are_reserved_once_even_when_they_clash(tmp_path):
    workspace = Workspace(tmp_path).create()
    taken: list[str] = []

    def submitter():  # every thread proposes the same ids in the same order
        ids = (f"20261124-015125-{k:04x}" for k in itertools.count())
        taken.extend(workspace.new_batch(lambda: next(ids)) for _ in range(5))

    threads = [threading.Thread(target=submitter) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 40 and len(set(taken)) == 40
    assert sorted(p.name for p in workspace.uploads.iterdir()) == sorted(taken)
    default = {workspace.new_batch() for _ in range(200)}  # the same second, mostly
    assert len(default) == 200


def test_safe_names():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("-rf lesson 1.mp4") == "rf lesson 1.mp4"
    assert safe_name("课程 第一讲.MP4") == "课程 第一讲.mp4"
    assert safe_name("a\"b'c.mov") == "a_b_c.mov"
    assert safe_name("..") == "file" and safe_name("C:\\x\\y.mp4") == "y.mp4"
    assert safe_name(".hidden.mp4") == "hidden.mp4"


def test_output_check_resolves_links_and_dots(tmp_path):
    ws = Workspace(tmp_path).create()
    (ws.outputs / "b").mkdir()
    assert ws.contains_output(ws.outputs / "b" / "x.mp4")
    assert not ws.contains_output(ws.outputs / ".." / "heygem.sqlite")
    (ws.outputs / "link").symlink_to(tmp_path)
    assert not ws.contains_output(ws.outputs / "link" / "heygem.sqlite")
