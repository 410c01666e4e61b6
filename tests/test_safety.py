"""Safety properties that hold without running media: no shells, names stay put, deletes stay in outputs/."""

import ast
from pathlib import Path

import pytest

from heygem.errors import HeygemError
from heygem.lipsync.pairing import unique_stem
from heygem.web.service import Upload

PACKAGE = Path(__file__).resolve().parent.parent / "heygem"


def calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


@pytest.mark.parametrize("source", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_shell_anywhere(source):
    """Subprocesses get argv lists: no shell=True, os.system, os.popen or a string command."""
    tree = ast.parse(source.read_text())
    for call in calls(tree):
        name = ast.unparse(call.func)
        assert name not in (
            "os.system",
            "os.popen",
            "subprocess.getoutput",
            "subprocess.getstatusoutput",
        )
        for keyword in call.keywords:
            if keyword.arg == "shell":
                assert isinstance(keyword.value, ast.Constant) and keyword.value.value is False
        if name.startswith("subprocess.") and call.args:
            assert not isinstance(call.args[0], (ast.Constant, ast.JoinedStr)), (
                f"{source.name}: {name} with a string"
            )


def test_uploaded_names_stay_in_the_batch_folder_and_never_overwrite(service, tmp_path, speech, face_clip):
    names = [
        "../../escape.mp4",
        "-rf.mp4",
        "/etc/passwd.mp4",
        "a/b/同名.mp4",
        "同名.mp4",
        "x\\..\\y.mp4",
    ]
    uploads = []
    for k, name in enumerate(names):
        copy = tmp_path / f"src{k}.mp4"
        copy.write_bytes(face_clip.read_bytes())
        uploads.append(Upload(copy, name))
    batch_id = service.submit(Upload(speech, "../narration.wav"), uploads)
    batch = service.store.get(batch_id)
    folder = service.workspace.batch_uploads(batch_id).resolve()
    stored = [Path(i.video).resolve() for i in batch.items] + [Path(batch.audio).resolve()]
    assert all(p.parent == folder and p.is_file() for p in stored)
    assert len(set(stored)) == len(stored)  # nothing overwrote anything
    dests = [Path(i.dest) for i in batch.items]
    assert all(d.parent == service.workspace.batch_outputs(batch_id) for d in dests)
    assert len({d.name.lower() for d in dests}) == len(dests)
    assert [d.name for d in dests][3:5] == ["同名.mp4", "同名-1.mp4"]
    assert not (tmp_path / "escape.mp4").exists() and not (service.workspace.root / "escape.mp4").exists()


def test_delete_acts_only_inside_outputs(service, tmp_path):
    outside = tmp_path / "precious.mp4"
    outside.write_bytes(b"keep me")
    service.store.add_batch("b1", "a.wav", "a.wav", {}, [("v.mp4", "/v", "/o/v.mp4", None)])
    item = service.store.claim_next()
    service.store.finish_item(item, "done", output=str(outside))
    with pytest.raises(HeygemError, match="no such output"):
        service.delete_output("b1", 0)
    with pytest.raises(HeygemError, match="nothing to download"):
        service.zip_selection([str(outside), "/etc/passwd"])
    assert outside.read_bytes() == b"keep me"


def test_unique_stems():
    taken: set[str] = set()
    assert [unique_stem(s, taken) for s in ("intro", "Intro", "intro", "outro")] == [
        "intro",
        "Intro-1",
        "intro-2",
        "outro",
    ]
