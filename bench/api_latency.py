"""How fast a batch's status answers while a batch runs, with several clients polling at once:
gradio_client's /batch_status and the REST API's GET /api/v1/batches/{id}, side by side.

    .venv/bin/python bench/api_latency.py [--clients 5] [--videos 6] [--seconds 20] [--apis gradio rest]
                                          [--tabs 0] [--idle-seconds 5]

Starts the real app (loudness engine, CPU) on a free port with a temp workspace and face-track
cache, runs one batch unmeasured (so that every measured batch finds the tracks cached and
does the same work), then for each API in turn submits the same batch of N videos and has
the clients poll that batch's status as fast as they can until it ends. Only answers given
while the batch was running count. Then the same clients poll for a few seconds with nothing
running: the floor each protocol sets (gradio_client waits for answers in 50 ms sleeps and opens
a new connection for every call). Prints median, p95, p99 and max latency per API, the idle
floor and how long each batch took; writes the figures to bench/results/api_latency.json.

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


def poll_idle(pollers: list[Callable[[str], str]], batch: str, seconds: float) -> list[float]:
    """Latencies (s) of the same polling with nothing running: the protocol's floor."""
    latencies: list[float] = []
    until = time.monotonic() + seconds

    def poll(ask):
        while time.monotonic() < until:
            t0 = time.perf_counter()
            ask(batch)
            latencies.append(time.perf_counter() - t0)

    threads = [threading.Thread(target=poll, args=(ask,)) for ask in pollers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies)


def figures(latencies: list[float], batch_seconds: float, state: str, idle: list[float]) -> dict:
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
        "idle_requests": len(idle),
        "idle_median_ms": round(statistics.median(idle) * 1000, 1) if idle else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--videos", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20, help="length of each video")
    parser.add_argument("--apis", nargs="+", choices=sorted(NAMES), default=["gradio", "rest"])
    parser.add_argument("--tabs", type=int, default=0, help="browser pages left open on the app")
    parser.add_argument(
        "--idle-seconds", type=float, default=5, help="then poll this long with nothing running"
    )
    args = parser.parse_args()
    results: dict = {
        "clients": args.clients,
        "videos": args.videos,
        "video_seconds": args.seconds,
        "tabs": args.tabs,
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        audio = synthetic.speech_wav(tmp / "voice.wav", args.seconds)
        videos = [
            synthetic.face_video(tmp / f"v{k}.mp4", args.seconds, size=(640, 360)) for k in range(args.videos)
        ]
        app = App(tmp / "ws", None, {"HEYGEM_CACHE_DIR": str(tmp / "cache")}).wait_ready()
        pages = None
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
            pages = Pages(app.url, args.tabs) if args.tabs else None
            for api in args.apis:
                make = gradio_poller if api == "gradio" else rest_poller
                pollers = [make(app) for _ in range(args.clients)]  # connected before the clock starts
                batch = submit()
                if pages:
                    pages.follow_latest()
                latencies, seconds = poll_while_running(pollers, batch)
                state = client.predict(batch, api_name="/batch_status")["state"]
                idle = poll_idle(pollers, batch, args.idle_seconds)
                results[api] = figures(latencies, seconds, state, idle)
        finally:
            if pages:
                pages.close()
            app.stop()
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "api_latency.json").write_text(json.dumps(results, indent=2))
    tabs = f", {args.tabs} browser pages open" if args.tabs else ""
    print(
        f"A batch's status with {args.clients} clients polling while it runs "
        f"({args.videos} x {args.seconds:g} s videos{tabs}):"
    )
    for api in args.apis:
        f = results[api]
        print(
            f"  {NAMES[api]:32} median {f['median_ms']} ms, p95 {f['p95_ms']} ms, p99 {f['p99_ms']} ms, "
            f"max {f['max_ms']} ms over {f['requests']} calls; batch {f['batch_state']} in {f['batch_wall_s']} s; "
            f"idle: median {f['idle_median_ms']} ms over {f['idle_requests']} calls"
        )


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


if __name__ == "__main__":
    main()
