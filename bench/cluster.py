"""Scale-out speed-up: the same batch through 1 and then 2 Celery workers on this machine.

    .venv/bin/python bench/cluster.py [--engine wav2lip|loudness] [--videos 4] [--seconds 4]

Starts a real redis-server, the app in scale-out mode and N workers (CPU), submits the same
batch, and times it from submission to the last output. With wav2lip a random-weight
checkpoint in the official format is written first (speed does not depend on weight values).
Each worker gets cores / N torch threads, so the two runs use the same cores. Writes
bench/results/cluster.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gradio_client import handle_file  # noqa: E402

from heygem.testing import synthetic  # noqa: E402
from heygem.testing.processes import REDIS, App, Redis, Worker, wait_for  # noqa: E402


def run(n_workers: int, engine: str, media: dict, tmp: Path, checkpoints: Path) -> dict:
    redis = Redis(tmp / f"redis{n_workers}")
    workspace = tmp / f"ws{n_workers}"
    app = App(workspace, env={"HEYGEM_BROKER": redis.url}).wait_ready(marker="connected to broker")
    threads = str(max(1, (os.cpu_count() or 2) // n_workers))
    env = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    extra = ["--checkpoint-dir", str(checkpoints)]
    workers = [
        Worker(f"w{k}", redis.url, workspace, env=env, engine=engine, extra=extra) for k in range(n_workers)
    ]
    try:
        client = app.client()
        started = time.monotonic()
        batch = client.predict(
            handle_file(media["audio"]), [handle_file(v) for v in media["videos"]], api_name="/submit_batch"
        )

        def finished():
            status = client.predict(batch, api_name="/batch_status")
            return status if status["state"] in ("done", "partial", "failed") else None

        status = wait_for(finished, timeout=3600, every=0.5)
        wall = time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()
        app.stop()
        redis.stop()
    frames = sum(i["frames"] or 0 for i in status["items"])
    return {
        "workers": n_workers,
        "threads_each": int(threads),
        "state": status["state"],
        "wall_s": round(wall, 1),
        "frames": frames,
        "frames_per_s": round(frames / wall, 2),
        "by_worker": sorted({i["worker"] for i in status["items"]}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", default="wav2lip", choices=["wav2lip", "loudness"])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each video and of the audio")
    args = parser.parse_args()
    if REDIS is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoints = tmp / "checkpoints"
        checkpoints.mkdir()
        if args.engine == "wav2lip":
            from heygem.lipsync.checkpoint import save_checkpoint
            from heygem.lipsync.model import Wav2Lip

            save_checkpoint(Wav2Lip(), checkpoints / "wav2lip_gan.pth")
        media = {
            "audio": synthetic.speech_wav(tmp / "voice.wav", args.seconds),
            "videos": [
                synthetic.face_video(tmp / f"presenter {k}.mp4", args.seconds, size=(640, 360))
                for k in range(args.videos)
            ],
        }
        results = [run(n, args.engine, media, tmp, checkpoints) for n in (1, 2)]
    speedup = results[0]["wall_s"] / results[1]["wall_s"]
    figures = {
        "engine": args.engine,
        "videos": args.videos,
        "seconds_each": args.seconds,
        "cpu_count": os.cpu_count(),
        "runs": results,
        "speedup_2_vs_1": round(speedup, 2),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "cluster.json").write_text(json.dumps(figures, indent=2))
    print(f"{args.videos} videos x {args.seconds:g} s, engine {args.engine}, {os.cpu_count()} CPU cores")
    print(f"{'workers':>8} {'threads each':>13} {'wall s':>8} {'frames/s':>9}  state")
    for r in results:
        print(
            f"{r['workers']:>8} {r['threads_each']:>13} {r['wall_s']:>8} {r['frames_per_s']:>9}  {r['state']}"
        )
    print(f"speed-up with 2 workers: {speedup:.2f}x")


if __name__ == "__main__":
    main()
