"""How fast a batch's status answers while a batch runs, with several clients polling at once:
gradio_client's /batch_status and the REST API's GET /api/v1/batches/{id}, side by side.

    .venv/bin/python bench/api_latency.py [--clients 5] [--videos 6] [--seconds 20] [--apis gradio rest]

Starts the real app (preview engine, CPU) on a free port with a temp workspace and face-track
cache, runs one batch unmeasured (so that every measured batch finds the tracks cached and
does the same work), then for each API in turn submits the same batch of N videos and has
the clients poll that batch's status as fast as they can until it ends. Only answers given
while the batch was running count. Prints median, p95, p99 and max latency per API and how
long each batch took; writes the figures to bench/results/api_latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from gradio_client import handle_file  # noqa: E402

from heygem.testing import synthetic  # noqa: E402
from heygem.testing.processes import FINISHED, App, wait_for  # noqa: E402

NAMES = {"gradio": "gradio_client /batch_status", "rest": "REST GET /api/v1/batches/{id}"}


def gradio_poller(app: App) -> Callable[[str], str]:
    """A client of its own; each call asks once for a batch and returns its state."""
    client = app.client()
    return lambda batch: client.predict(batch, api_name="/batch_status")["state"]


def rest_poller(app: App) -> Callable[[str], str]:
    client = httpx.Client(base_url=f"{app.url}api/v1", timeout=30)  # one kept-alive connection
    return lambda batch: client.get(f"/batches/{batch}").json()["state"]


def poll_while_running(pollers: list[Callable[[str], str]], batch: str) -> tuple[list[float], float]:
    """Latencies (s) of the answers given while the batch ran, and the batch's wall time."""
    latencies: list[float] = []
    started = time.monotonic()
    ended = threading.Event()

    def poll(ask):
        while not ended.is_set():
            t0 = time.perf_counter()
            state = ask(batch)
            if state == "running":
                latencies.append(time.perf_counter() - t0)
            elif state != "queued":
                ended.set()

    threads = [threading.Thread(target=poll, args=(ask,)) for ask in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies), time.monotonic() - started


def figures(latencies: list[float], batch_seconds: float, state: str) -> dict:
    def at(q: float) -> float:
        return round(latencies[int(q * (len(latencies) - 1))] * 1000, 1)

    return {
        "requests": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "max_ms": round(latencies[-1] * 1000, 1),
        "batch_state": state,
        "batch_wall_s": round(batch_seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20, help="length of each video")
    parser.add_argument("--apis", nargs="+", choices=sorted(NAMES), default=["gradio", "rest"])
    args = parser.parse_args()
    results: dict = {"clients": args.clients, "videos": args.videos, "video_seconds": args.seconds}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio = synthetic.speech_wav(tmp / "voice.wav", args.seconds)
        videos = [
            synthetic.face_video(tmp / f"v{k}.mp4", args.seconds, size=(640, 360)) for k in range(args.videos)
        ]
        app = App(tmp / "ws", None, {"HEYGEM_CACHE_DIR": str(tmp / "cache")}).wait_ready()
        try:
            client = app.client()

            def submit() -> str:
                return client.predict(
                    handle_file(audio), [handle_file(v) for v in videos], api_name="/submit_batch"
                )

            warm_up = submit()  # unmeasured: later batches find every face track cached, as each other
            wait_for(
                lambda: client.predict(warm_up, api_name="/batch_status")["state"] in FINISHED, 1800, 1.0
            )
            for api in args.apis:
                make = gradio_poller if api == "gradio" else rest_poller
                pollers = [make(app) for _ in range(args.clients)]  # connected before the clock starts
                batch = submit()
                latencies, seconds = poll_while_running(pollers, batch)
                state = client.predict(batch, api_name="/batch_status")["state"]
                results[api] = figures(latencies, seconds, state)
        finally:
            app.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_latency.json").write_text(json.dumps(results, indent=2))
    print(
        f"A batch's status with {args.clients} clients polling while it runs ({args.videos} x {args.seconds:g} s videos):"
    )
    for api in args.apis:
        f = results[api]
        print(
            f"  {NAMES[api]:32} median {f['median_ms']} ms, p95 {f['p95_ms']} ms, p99 {f['p99_ms']} ms, "
            f"max {f['max_ms']} ms over {f['requests']} calls; batch {f['batch_state']} in {f['batch_wall_s']} s"
        )


if __name__ == "__main__":
    main()
