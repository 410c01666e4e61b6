"""Load: 20 submissions from 5 concurrent clients are all accepted and run in order, once each."""

import threading

import psutil
from gradio_client import handle_file

from heygem.testing import synthetic
from heygem.testing.processes import wait_for


def test_twenty_submissions_from_five_clients(app, tmp_path):
    audio = synthetic.speech_wav(tmp_path / "voice.wav", 0.4)
    clip = synthetic.face_video(tmp_path / "clip.mp4", 0.4, size=(160, 90), face=60)
    ids: list[list[str]] = [[] for _ in range(5)]
    errors: list[BaseException] = []
    rss = [psutil.Process(app.proc.pid).memory_info().rss]

    def client_thread(k: int):
        try:
            client = app.client()
            for _ in range(4):
                ids[k].append(
                    client.predict(handle_file(audio), [handle_file(clip)], api_name="/submit_batch")
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client_thread, args=(k,)) for k in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors
    all_ids = [b for per_client in ids for b in per_client]
    assert len(set(all_ids)) == 20
    client = app.client()

    def everything_done():
        rss.append(psutil.Process(app.proc.pid).memory_info().rss)
        statuses = [client.predict(b, api_name="/batch_status") for b in all_ids]
        return statuses if all(s["state"] == "done" for s in statuses) else None

    statuses = wait_for(everything_done, timeout=600, every=1.0)
    assert all(s["items"][0]["attempts"] == 1 for s in statuses)  # exactly once
    outputs = [s["items"][0]["output"] for s in statuses]
    assert len(set(outputs)) == 20
    seq = {s["batch_id"]: s["seq"] for s in statuses}
    assert sorted(seq.values()) == list(range(min(seq.values()), min(seq.values()) + 20))
    for per_client in ids:  # each client's submissions are queued in the order it made them
        assert [seq[b] for b in per_client] == sorted(seq[b] for b in per_client)
    # run in submission order (the store's sequence), one after the other
    by_seq = sorted(statuses, key=lambda s: s["seq"])
    starts = [s["items"][0]["started"] for s in by_seq]
    assert starts == sorted(starts)
    assert max(rss) < 1.5 * 1024**3
