"""How fast /batch_status answers while a batch runs, with several clients polling at once.

    .venv/bin/python bench/api_latency.py [--clients 5] [--videos 6] [--seconds 20]

Starts the real app (preview engine, CPU) on a free port with a temp workspace, submits a
batch of N videos, then has the clients poll /batch_status as fast as they can until the
batch ends. Only answers given while the batch was running count. Prints median, p95 and max
latency and how long the batch took; writes the figures to bench/results/api_latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import handle_file  # noqa: E402

from heygem.testing import synthetic  # noqa: E402
from heygem.testing.processes import App  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20, help="length of each video")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio = synthetic.speech_wav(tmp / "voice.wav", args.seconds)
        videos = [
            synthetic.face_video(tmp / f"v{k}.mp4", args.seconds, size=(640, 360)) for k in range(args.videos)
        ]
        app = App(tmp / "ws").wait_ready()
        try:
            client = app.client()
            batch = client.predict(
                handle_file(audio), [handle_file(v) for v in videos], api_name="/submit_batch"
            )
            latencies: list[float] = []
            started = time.monotonic()
            ended = threading.Event()

            def poll():
                own = app.client()
                while not ended.is_set():
                    t0 = time.perf_counter()
                    state = own.predict(batch, api_name="/batch_status")["state"]
                    if state == "running":
                        latencies.append(time.perf_counter() - t0)
                    elif state != "queued":
                        ended.set()

            threads = [threading.Thread(target=poll) for _ in range(args.clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            batch_seconds = time.monotonic() - started
            status = client.predict(batch, api_name="/batch_status")
        finally:
            app.stop()
    latencies.sort()
    figures = {
        "clients": args.clients,
        "requests": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "videos": args.videos,
        "video_seconds": args.seconds,
        "batch_state": status["state"],
        "batch_wall_s": round(batch_seconds, 1),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_latency.json").write_text(json.dumps(figures, indent=2))
    print(f"/batch_status with {args.clients} clients polling while a batch runs ({len(latencies)} calls):")
    print(f"  median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms")
    print(
        f"  the batch ({args.videos} x {args.seconds:g} s videos): {status['state']} in {batch_seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
