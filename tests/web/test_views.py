"""What the page shows: languages, the live panel."""

from heygem.web.i18n import TEXT, lang_of, tr
from heygem.web.views import pairs_html, status_html, system_markdown


def test_language_and_translations():
    assert lang_of("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert lang_of("en-US,en;q=0.9") == "en" and lang_of(None) == "en"
    assert tr("start_batch", "zh") == "开始批量生成" and tr("tab_log", "zh") == "运行实时日志"
    # q-values rank the languages, whatever their order (RFC 9110 12.5.4)
    assert lang_of("en;q=0.5, zh-CN;q=0.9") == "zh"
    assert lang_of("zh;q=0.3,en-GB;q=0.7") == "en"
    assert lang_of("fr-FR, zh;q=0.8, en;q=0.6") == "zh"  # neither offered language first: the best one
    assert lang_of("zh;q=0, en") == "en" and lang_of("de, fr") == "en"  # q=0: not wanted
    assert lang_of("zh;q=abc,en;q=0.5") == "en"  # a malformed q counts as 0
    assert lang_of("zh-TW, en") == "zh" and lang_of("en, zh") == "en"  # equal q: the first
    assert all(en and zh for en, zh in TEXT.values())


def test_status_panel_escapes_names():
    status = {
        "batch_id": "b",
        "state": "running",
        "progress": 0.5,
        "current": "<script>x</script>",
        "current_index": 1,
        "total": 1,
        "eta_seconds": 90,
        "items": [
            {
                "video": "<img src=x>",
                "status": "running",
                "progress": 0.5,
                "stage": "lipsync",
                "chunk": 2,
                "chunks": 3,
                "error": None,
                "output": None,
            }
        ],
    }
    page = status_html(status, "ready", "zh")
    assert "<script>" not in page and "<img" not in page
    assert "口型同步 第 2/3 块" in page and "预计剩余 1 min 30 s" in page


def test_the_pairs_table_escapes_names_and_says_why_it_refuses():
    plan = {
        "pairs": 1,
        "narrations": 1,
        "videos": 1,
        "rule": "cross",
        "unmatched": ["<b>x.wav"],
        "rows": [{"audio": "<i>a.wav", "video": "v.mp4", "output": "v.mp4", "error": '"><script>'}],
    }
    page = pairs_html(plan, "zh")
    assert "<i>" not in page and "<b>x" not in page and "<script>" not in page
    assert "共 1 组：1 个音频 × 1 个视频" in page and "未配对，不会处理" in page
    assert "&lt;script&gt;" in pairs_html({"error": "<script>"}, "en")


def test_the_system_panel_shows_the_runtime_and_the_int8_gate():
    from heygem.jobs import EngineStatus

    gate = {
        "checkpoint_sha256": "ab12" * 16,
        "passed": False,
        "runtime": "openvino",
        "mean": 4.5863,
        "p99_9": 70.0,
        "max": 211,
        "frames": 64,
        "mean_max": 0.5,
        "p99_9_max": 3.0,
        "isa": "avx2",
        "measured": "2026-12-03T11:37:46",
        "seconds": 21.5,
    }
    disk = {"free_bytes": 10**12, "used_bytes": 0}
    status = EngineStatus("ready", engine="wav2lip", device="cpu", runtime="openvino", int8_gate=gate)
    text = system_markdown(status, disk, None, "checkpoints", None, "en")
    assert "| runtime | openvino |" in text
    assert "failed: mean 4.586 (≤ 0.5), p99.9 70.0 (≤ 3) levels on 64 held-out frames → openvino" in text
    assert "ab12ab12ab12…" in text and "2026-12-03T11:37:46" in text
    explicit = EngineStatus("ready", engine="wav2lip", device="cpu", runtime="openvino-int8")
    assert "| int8 gate | — |" in system_markdown(explicit, disk, None, "checkpoints", None, "en")


def test_sizes_are_written_one_way_everywhere():
    """A 436 MB checkpoint is 436 MB on the System tab as in the download bar (it was 415.6
    "MB": binary units under a decimal name); a 4 TB disk is 4 TB."""
    from heygem.jobs import EngineStatus
    from heygem.web.views import history_html, system_markdown

    disk = {"used_bytes": 435_801_865, "free_bytes": 4_000_787_030_016}
    text = system_markdown(EngineStatus(), disk, None, "checkpoints", None, "en")
    assert "| outputs + uploads | 436 MB |" in text and "| free disk | 4 TB |" in text
    assert "436 MB" in history_html([], disk, None, "en")


def item(video: str, status: str, audio: str = "a.wav", **extra) -> dict:
    base = {"video": video, "audio": audio, "status": status, "progress": 0.0, "stage": "", "error": None}
    return {**base, "chunk": 0, "chunks": 0, "output": None, **extra}


def test_the_live_table_of_a_big_batch_folds_what_needs_no_eye():
    """Review finding 51: 1,000 pairs were a row each, every second (~400 kB a tick), in English."""
    from heygem.web.itemsview import FOLD_AFTER, MAX_FAILED_ROWS, items_table

    items = [item(f"v{k}.mp4", "done", f"lesson{k % 20:02d}.wav") for k in range(1000)]
    items[500] = item("now.mp4", "running", "lesson00.wav", stage="lipsync", chunk=1, chunks=2, progress=0.3)
    for k in range(600, 660):
        items[k] = item(f"bad{k}.mp4", "failed", f"lesson{k % 20:02d}.wav", error=f"bad{k}.mp4: no face")
    for k in range(900, 1000):
        items[k] = item(f"v{k}.mp4", "queued", f"lesson{k % 20:02d}.wav")
    page = items_table(items, "zh", pairs=True)
    assert page.count('class="hg-item"') == 1 + MAX_FAILED_ROWS  # the running one, the failures shown
    assert 'data-status="running"' in page and "bad600.mp4: no face" in page
    assert "另有 10 个失败" in page  # the rest of the failures counted
    assert page.count('class="hg-fold"') == 20  # a row per narration for the rest
    assert "lesson00.wav：46 个视频：41 已完成 · 5 排队中" in page
    assert len(page) < 60_000
    small = items_table(items[:FOLD_AFTER], "en")
    assert small.count('class="hg-item"') == FOLD_AFTER  # a small batch: a row each
    done = items_table([item("a.mp4", "done", frames=50, frames_without_face=3, seconds=4)], "zh")
    assert "3/50 帧无人脸" in done


def test_the_queue_panel_and_the_download_link():
    from heygem.web.queue import queue_html

    queue = {
        "batches": [
            {
                "batch_id": "A",
                "state": "running",
                "stopping": False,
                "position": 0,
                "audios": ["l1.wav"],
                "total": 3,
                "counts": {"done": 2, "running": 1},
                "progress": 0.7,
                "eta_seconds": 30.0,
            },
            {
                "batch_id": "B<",
                "state": "queued",
                "stopping": False,
                "position": 1,
                "audios": ["l2.wav", "l3.wav"],
                "total": 2,
                "counts": {"queued": 2},
                "progress": 0.0,
                "eta_seconds": None,
            },
        ],
        "eta_seconds": None,
    }
    page = queue_html(queue, "A", "en")
    assert "2 batch(es) queued or running" in page and "left" not in page.split("<table")[0]  # no whole ETA
    assert 'data-batch="A" data-state="running"' in page and "◀" in page and "B&lt;" in page
    assert "l2.wav +1" in page and "30 s" in page
    assert "没有排队或处理中的批次" in queue_html({"batches": [], "eta_seconds": None}, None, "zh")
    status = {
        "batch_id": "A",
        "state": "done",
        "progress": 1.0,
        "counts": {"done": 2},
        "items": [item("a.mp4", "done")] * 2,
    }
    link = status_html(status, "ready", "en", "api/v1/batches/A/archive.zip")
    assert '<a class="hg-download-all" href="api/v1/batches/A/archive.zip" download>' in link
    assert "Download all 2 output(s) as one zip" in link and "2 done" in link
