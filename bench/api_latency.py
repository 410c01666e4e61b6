"""How fast /batch_status answers while a batch runs, with several clients polling at once.

    .venv/bin/python bench/api_latency.py [--clients 5] [--videos 6] [--seconds 20] [--tabs 0]

Starts the real app (preview engine, CPU) on a free port with a temp workspace, submits a
batch of N videos, then has the clients poll /batch_status as fast as they can until the
batch ends. Only answers given while the batch was running count. Prints median, p95 and max
latency and how long the batch took, then the same clients' figures for a few seconds with
nothing running (the floor gradio_client's protocol sets: it waits in 50 ms sleeps and opens
new connections for every call); writes the figures to bench/results/api_latency.json.

``--tabs N`` also leaves N browser pages open on the app meanwhile (headless Debian chromium
through Playwright), one on each tab in turn (Batch, History, Realtime log, System, ...), as
people who left the page open do: what their timers cost the API shows in the figures.
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
    parser.add_argument("--tabs", type=int, default=0, help="browser pages left open on the app")
    parser.add_argument(
        "--idle-seconds", type=float, default=5, help="then poll this long with nothing running"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio = synthetic.speech_wav(tmp / "voice.wav", args.seconds)
        videos = [
            synthetic.face_video(tmp / f"v{k}.mp4", args.seconds, size=(640, 360)) for k in range(args.videos)
        ]
        app = App(tmp / "ws").wait_ready()
        pages = None
        try:
            pages = open_pages(app.url, args.tabs)  # before the batch: opening them takes a while
            client = app.client()
            batch = client.predict(
                handle_file(audio), [handle_file(v) for v in videos], api_name="/submit_batch"
            )
            if pages:
                pages.follow_latest()
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

            run_clients(poll, args.clients)
            batch_seconds = time.monotonic() - started
            status = client.predict(batch, api_name="/batch_status")
            idle: list[float] = []  # the same polling with nothing running: the protocol's floor
            idle_until = time.monotonic() + args.idle_seconds

            def poll_idle():
                own = app.client()
                while time.monotonic() < idle_until:
                    t0 = time.perf_counter()
                    own.predict(batch, api_name="/batch_status")
                    idle.append(time.perf_counter() - t0)

            run_clients(poll_idle, args.clients)
        finally:
            if pages:
                pages.close()
            app.stop()
    latencies.sort()
    idle.sort()
    figures = {
        "clients": args.clients,
        "tabs": args.tabs,
        "requests": len(latencies),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "videos": args.videos,
        "video_seconds": args.seconds,
        "batch_state": status["state"],
        "batch_wall_s": round(batch_seconds, 1),
        "idle_requests": len(idle),
        "idle_median_ms": round(statistics.median(idle) * 1000, 1),
        "idle_p95_ms": round(idle[int(0.95 * (len(idle) - 1))] * 1000, 1),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_latency.json").write_text(json.dumps(figures, indent=2))
    tabs = f" and {args.tabs} browser pages open" if args.tabs else ""
    print(
        f"/batch_status with {args.clients} clients polling{tabs} while a batch runs ({len(latencies)} calls):"
    )
    print(f"  median {figures['median_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms")
    print(
        f"  the batch ({args.videos} x {args.seconds:g} s videos): {status['state']} in {batch_seconds:.1f} s"
    )
    print(
        f"  with nothing running ({len(idle)} calls): median {figures['idle_median_ms']} ms, "
        f"p95 {figures['idle_p95_ms']} ms (the floor of gradio_client and Gradio's queue here)"
    )


def run_clients(target, count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


TAB_NAMES = ("Batch", "History", "Realtime log", "System", "Single")


class Pages:
    """Headless chromium pages left open on the app, one on each tab in turn."""

    def __init__(self, url: str, count: int):
        import shutil

        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        self._browser = self._playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        self._pages = []
        for k in range(count):
            page = self._browser.new_page(locale="en-US")
            page.goto(url)
            tab = TAB_NAMES[k % len(TAB_NAMES)]
            page.get_by_role("tab", name=tab).click()
            self._pages.append((page, tab))

    def follow_latest(self) -> None:
        """Pages on the Batch tab load again, so that they follow the batch just submitted."""
        for page, tab in self._pages:
            if tab == "Batch":
                page.reload()
                page.locator("#hg-live .hg-batch").wait_for(timeout=60_000)

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()


def open_pages(url: str, count: int) -> Pages | None:
    return Pages(url, count) if count else None


if __name__ == "__main__":
    main()
