"""Whole-file writes."""

import pytest

from heygem.media.files import replacing


def test_a_file_is_replaced_whole_or_not_at_all(tmp_path):
    target = tmp_path / "batch.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), replacing(target) as temp:
        temp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and sorted(tmp_path.iterdir()) == [target]
    with replacing(target) as temp:
        temp.write_text("new")
        assert target.read_text() == "old"  # not visible before the end
    assert target.read_text() == "new" and (target.stat().st_mode & 0o777) == 0o644
    assert sorted(tmp_path.iterdir()) == [target]
