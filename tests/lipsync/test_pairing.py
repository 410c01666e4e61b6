"""Pairs of (narration, video): the rules, the names, the order, and manifests with their bad rows."""

import json

import pytest

from heygem.lipsync.pairfile import PairManifestError, read_plan
from heygem.lipsync.pairing import PairError, output_stems, pair_files, run_order


def names(plan):
    return [(plan.audios[p.audio], plan.videos[p.video]) for p in plan.pairs]


def test_cross_is_every_narration_onto_every_video():
    plan = pair_files(["a.wav", "b.wav"], ["x.mp4", "y.mp4", "z.png"])
    assert names(plan) == [
        ("a.wav", "x.mp4"),
        ("a.wav", "y.mp4"),
        ("a.wav", "z.png"),
        ("b.wav", "x.mp4"),
        ("b.wav", "y.mp4"),
        ("b.wav", "z.png"),
    ]
    assert plan.unmatched == ()
    assert output_stems(plan) == ["x__a", "y__a", "z__a", "x__b", "y__b", "z__b"]


def test_one_narration_keeps_the_names_of_before():
    plan = pair_files(["narration.wav"], ["intro.mp4", "Intro.mov", "intro.mp4", "outro.mp4"])
    assert output_stems(plan) == ["intro", "Intro-1", "intro-2", "outro"]


def test_by_order_lists_what_is_left_over():
    plan = pair_files(["1.wav", "2.wav", "3.wav"], ["a.mp4", "b.mp4"], "order")
    assert names(plan) == [("1.wav", "a.mp4"), ("2.wav", "b.mp4")]
    assert plan.unmatched == ("3.wav",)


def test_by_name_with_one_unmatched_file():
    plan = pair_files(
        ["course/Lesson01.wav", "lesson02.mp3", "lesson03.wav"],
        ["lesson02.mp4", "lesson01.mov", "lesson01.jpg"],
        "name",
    )
    assert names(plan) == [
        ("course/Lesson01.wav", "lesson01.mov"),
        ("course/Lesson01.wav", "lesson01.jpg"),
        ("lesson02.mp3", "lesson02.mp4"),
    ]
    assert plan.unmatched == ("lesson03.wav",)
    assert output_stems(plan) == ["lesson01__Lesson01", "lesson01__Lesson01-1", "lesson02__lesson02"]


def test_by_name_refuses_what_it_cannot_pair():
    with pytest.raises(PairError, match="no narration has the file name of a video"):
        pair_files(["a.wav"], ["b.mp4"], "name")
    with pytest.raises(PairError, match=r"two narrations are named 'x' \(x.wav, x.mp3\)"):
        pair_files(["x.wav", "x.mp3"], ["x.mp4"], "name")
    with pytest.raises(PairError, match="pairing 'zip' is not known"):
        pair_files(["a.wav"], ["b.mp4"], "zip")


def test_more_pairs_than_the_limit_are_refused_with_the_count():
    with pytest.raises(PairError, match=r"1,200 pairs \(40 × 30\) is more than a batch may hold \(1,000\)"):
        pair_files([f"{k}.wav" for k in range(40)], [f"{k}.mp4" for k in range(30)])
    assert len(pair_files(["a.wav", "b.wav"], ["x.mp4", "y.mp4"], max_pairs=4).pairs) == 4
    with pytest.raises(PairError, match="4 pairs"):
        pair_files(["a.wav", "b.wav"], ["x.mp4", "y.mp4"], max_pairs=3)


def test_run_order_goes_narration_by_narration_longest_first():
    plan = pair_files(["short.wav", "long.wav", "bad.wav", "mid.wav"], ["x.mp4", "y.mp4"])
    order = run_order(plan, [1.0, 3.0, None, 2.0])
    assert [names(plan)[k] for k in order] == [
        ("long.wav", "x.mp4"),
        ("long.wav", "y.mp4"),
        ("mid.wav", "x.mp4"),
        ("mid.wav", "y.mp4"),
        ("short.wav", "x.mp4"),
        ("short.wav", "y.mp4"),
        ("bad.wav", "x.mp4"),  # unknown length: last
        ("bad.wav", "y.mp4"),
    ]


@pytest.fixture
def course(tmp_path):
    """A manifest's folder: narrations and videos under relative paths (empty files are enough
    here: pairing reads no media)."""
    for path in ("audio/lesson01.wav", "audio/lesson02.mp3", "video/anna.mp4", "video/ben.mov", "still.png"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"x")
    return tmp_path


def test_a_csv_manifest_with_relative_paths_own_names_and_settings(course):
    manifest = course / "jobs.csv"
    manifest.write_text(
        "audio,video,output,quality,pads\n"
        "audio/lesson01.wav,video/anna.mp4,Intro for Anna,high,\n"
        "\n"
        "# a comment line\n"
        "audio/lesson01.wav,video/ben.mov,,,0 12 0 0\n"
        f"audio/lesson02.mp3,{course / 'still.png'},,small,\n"
    )
    plan = read_plan(manifest)
    assert plan.audios == (str(course / "audio/lesson01.wav"), str(course / "audio/lesson02.mp3"))
    assert [p.line for p in plan.pairs] == [2, 5, 6]
    assert [p.settings for p in plan.pairs] == [
        {"quality": "high"},
        {"pads": (0, 12, 0, 0)},
        {"quality": "small"},
    ]
    assert output_stems(plan) == ["Intro for Anna", "ben__lesson01", "still__lesson02"]


def test_csv_cells_set_flags_and_face_points(course):
    """Review finding 49: ``overlay`` and ``face_point`` could not be set from a CSV cell."""
    manifest = course / "jobs.csv"
    manifest.write_text(
        "audio,video,overlay,face_point,sync_offset\n"
        "audio/lesson01.wav,video/anna.mp4,true,640 300,-2\n"
        'audio/lesson01.wav,video/ben.mov,No,"[12.5, 40]",\n'
        "audio/lesson02.mp3,video/ben.mov,maybe,,\n"
    )
    with pytest.raises(PairManifestError) as refused:
        read_plan(manifest)
    assert refused.value.problems == [(4, "setting 'overlay': 'maybe' is not allowed (true or false)")]
    manifest.write_text("\n".join(manifest.read_text().splitlines()[:3]) + "\n")
    assert [p.settings for p in read_plan(manifest).pairs] == [
        {"overlay": True, "face_point": (640.0, 300.0), "sync_offset": -2},
        {"overlay": False, "face_point": (12.5, 40.0)},
    ]


def test_a_csv_manifest_with_one_bad_row_is_refused_with_its_line(course):
    manifest = course / "jobs.csv"
    manifest.write_text("audio,video\naudio/lesson01.wav,video/anna.mp4\naudio/lesson09.wav,video/anna.mp4\n")
    with pytest.raises(PairManifestError) as refused:
        read_plan(manifest)
    assert refused.value.problems == [
        (3, f"audio 'audio/lesson09.wav' not found (looked in {course / 'audio'})")
    ]
    assert str(refused.value).startswith("jobs.csv: line 3: audio 'audio/lesson09.wav' not found")


def test_every_bad_row_is_named_at_once(course):
    manifest = course / "jobs.csv"
    manifest.write_text(
        "audio,video,output,quality\n"
        "audio/lesson01.wav,video/anna.mp4,same.mp4,\n"
        "audio/lesson01.wav,notes.docx,,\n"
        "audio/lesson02.mp3,video/ben.mov,SAME,\n"
        "audio/lesson02.mp3,video/anna.mp4,,ultra\n"
        "audio/lesson02.mp3,video/carl.mp4,,\n"
        ",video/ben.mov,,\n"
        "audio/lesson02.mp3,video/ben.mov,sub/x.mp4,\n"
        "audio/lesson02.mp3,video/ben.mov,x.mov,\n"
    )
    with pytest.raises(PairManifestError) as refused:
        read_plan(manifest)
    assert refused.value.problems == [
        (3, "video 'notes.docx': unsupported type '.docx'"),
        (4, "output 'SAME.mp4' is also line 2's"),
        (5, "setting 'quality': 'ultra' is not allowed (use high, standard, small)"),
        (6, f"video 'video/carl.mp4' not found (looked in {course / 'video'})"),
        (7, "no audio given"),
        (8, "output 'sub/x.mp4': a file name, not a path (outputs go to the batch's folder)"),
        (9, "output 'x.mov': outputs are MP4 files (.mp4)"),
    ]


def test_unknown_columns_and_files_that_are_no_manifest(course):
    bad_column = course / "jobs.csv"
    bad_column.write_text("audio,video,colour\naudio/lesson01.wav,video/anna.mp4,red\n")
    with pytest.raises(PairManifestError, match="line 1: unknown column 'colour'"):
        read_plan(bad_column)
    sheet = course / "jobs.xlsx"
    sheet.write_bytes(b"PK")
    with pytest.raises(PairError, match=r"jobs.xlsx: a manifest is .csv or .json, not '.xlsx'"):
        read_plan(sheet)
    empty = course / "empty.csv"
    empty.write_text("audio,video\n")
    with pytest.raises(PairError, match="lists no pairs"):
        read_plan(empty)


def test_a_json_manifest_names_the_line_of_a_bad_object(course):
    manifest = course / "jobs.json"
    rows = [
        {"audio": "audio/lesson01.wav", "video": "video/anna.mp4", "height": 720},
        {"audio": "audio/lesson02.mp3", "video": "video/ben.mov", "sync_ofset": 1},
    ]
    manifest.write_text(json.dumps([*rows, "anna.mp4"], indent=2))
    with pytest.raises(
        PairManifestError, match=r"jobs.json: line 7: unknown setting 'sync_ofset'"
    ) as refused:
        read_plan(manifest)
    assert refused.value.problems[1] == (12, "a pair is an object with 'audio' and 'video'")
    rows[1].pop("sync_ofset")
    manifest.write_text(json.dumps(rows, indent=2))
    plan = read_plan(manifest)
    assert [p.line for p in plan.pairs] == [2, 7] and plan.pairs[0].settings == {"height": 720}


def test_an_uploaded_manifest_names_uploaded_files(course):
    manifest = course / "jobs.csv"
    manifest.write_text("audio,video\nC:\\course\\lesson01.wav,anna.mp4\nlesson01.wav,missing.mp4\n")
    uploads = ["lesson01.wav", "anna.mp4", "ben.mp4"]
    with pytest.raises(
        PairManifestError, match="line 3: video 'missing.mp4' is not among the uploaded files"
    ):
        read_plan(manifest, uploads)
    manifest.write_text("audio,video\nC:\\course\\lesson01.wav,anna.mp4\n")
    plan = read_plan(manifest, uploads)
    assert names(plan) == [("lesson01.wav", "anna.mp4")] and plan.unmatched == ("ben.mp4",)


def test_the_pair_limit_is_checked_while_reading(course):
    """A manifest of more rows than a batch may hold is refused for that, without reading the
    rest (here a broken tail that a whole parse would have reported instead)."""
    row = {"audio": "audio/lesson01.wav", "video": "video/anna.mp4"}
    listed = json.dumps([row] * 30, indent=2)
    for manifest, text in (
        (course / "big.json", listed[:-2] + ", {not json at all"),
        (course / "big.csv", "audio,video\n" + "audio/lesson01.wav,video/anna.mp4\n" * 30 + '"unclosed,\n'),
    ):
        manifest.write_text(text)
        with pytest.raises(PairError, match=f"{manifest.name} lists more than 20 pairs"):
            read_plan(manifest, max_pairs=20)
    (course / "big.csv").write_text("audio,video\n" + "audio/lesson01.wav,video/anna.mp4\n" * 30)
    assert len(read_plan(course / "big.csv", max_pairs=30).pairs) == 30  # at the limit: all kept


def test_a_manifest_too_big_to_be_one_is_refused_unread(course):
    from heygem.lipsync.pairfile import MAX_MANIFEST_BYTES

    manifest = course / "huge.csv"
    manifest.write_bytes(b"audio,video\n" + b"#" * MAX_MANIFEST_BYTES)
    with pytest.raises(PairError, match=r"huge.csv: 5.0 MB is more than a manifest may be \(5 MB\)"):
        read_plan(manifest)


def test_json_lines_are_counted_right_far_into_a_long_manifest(course):
    rows = [{"audio": "audio/lesson01.wav", "video": "video/anna.mp4"}] * 500
    rows[400] = {"audio": "audio/lesson01.wav", "video": "video/anna.mp4", "quality": "ultra"}
    manifest = course / "long.json"
    manifest.write_text(json.dumps(rows, indent=2))  # 4 lines per row, after the opening "["
    with pytest.raises(PairManifestError) as refused:
        read_plan(manifest, max_pairs=1000)
    assert [line for line, _ in refused.value.problems] == [2 + 4 * 400]
