"""The bench's tables and its verdict on the speed issue's targets, from one run's report.

Every ratio divides two figures of the same run: a pipeline row by the original's row for
the same clip, and by the model-only figure of the same runtime at the same batch size.
"""

from __future__ import annotations

# The speed issue's targets.
DEFAULT_FPS, MOONSHOT_FPS = 22.0, 33.0  # frames/s end to end, first runs (with detection)
FIRST_PROGRESS_S = 0.1
PEAK_MB, FLAT = 1500.0, 0.10  # peak RSS, and its growth from the shortest to the longest input
FLOAT_MAX, INT8_MAX, INT8_MEAN = 1, 8, 2.0  # pixel levels against torch fp32, held-out frames


def table(report: dict) -> str:
    m = report["machine"]
    out = [
        f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}; started {report['started']}"
        f" ({report.get('minutes', 0):.0f} min); default runtime here: {report['default_runtime']}",
        "",
        "Model only (frames/s, median of repeats; load average after):",
    ]
    for key, got in report["model_only"].items():
        out.append(f"  {key:<20} {got['fps']:6.2f}   ({got.get('load_after', '')})")
    out += ["", *_pipeline_table(report)]
    if report.get("ceiling"):
        out += ["", "Pipeline ceiling (the network replaced by a zero-cost one; crop and paste kept):"]
        out += [
            f"  {r['label']:<16} {r['fps']:7.1f} frames/s, peak {r['peak_rss_mb']:.0f} MB"
            for r in report["ceiling"]
        ]
    if report.get("narration"):
        out += ["", *_narration_table(report["narration"])]
    if report.get("tolerance"):
        out += ["", *_tolerance_lines(report["tolerance"])]
    out += ["", *verdict(report)]
    return "\n".join(out)


def _pipeline_table(report: dict) -> list[str]:
    rows = [
        "| runtime | batch | clip | run | frames/s | vs original | model-only | ratio | narration s "
        "| detect s | decode s | render s (model) | encode s | mux s | wall s | peak RSS MB (py / +children) "
        "| 1st progress s | load avg |",
        "|" + "---|" * 18,
    ]
    originals = {r["seconds_of_video"]: r for r in report["pipeline"] if r["runtime"] == "original"}
    for run in report["pipeline"]:
        original = originals.get(run["seconds_of_video"])
        versus = f"{run['fps'] / original['fps']:.2f}x" if original and run is not original else "-"
        ceiling = report["model_only"].get(f"{run['runtime']}/{run['batch']}", {}).get("fps")
        ratio = f"{run['fps'] / ceiling:.0%}" if ceiling else "-"
        st = run.get("stages", {})
        stage = {k: f"{st[k]:.1f}" if k in st else "-" for k in ("narration", "decode", "encode", "mux")}
        render = f"{st['render']:.1f} ({st['model']:.1f})" if "render" in st else "-"
        detect = f"{st['detect']:.2f}" if "detect" in st else "-"
        first = f"{run['first_progress_s']:.2f}" if "first_progress_s" in run else "-"
        rows.append(
            f"| {run['runtime']} | {run['batch']} | {run['seconds_of_video']} s | {run['run']} "
            f"| {run['fps']:.2f} | {versus} | {ceiling or 0:.2f} | {ratio} | {stage['narration']} | {detect} "
            f"| {stage['decode']} | {render} | {stage['encode']} | {stage['mux']} | {run['seconds']:.1f} "
            f"| {run['peak_rss_mb']:.0f} / {run['tree_peak_rss_mb']:.0f} | {first} | {run['load_after']} |"
        )
    return rows


def _narration_table(runs: list[dict]) -> list[str]:
    rows = [
        "Narration length (loudness engine, 640x360; peak RSS of the Python process):",
        "| video | narration min | frames | frames/s | peak RSS MB | +children MB | load avg |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        rows.append(
            f"| {r['video']} | {r['minutes']:g} | {r['frames']} | {r['fps']:.1f} | {r['peak_rss_mb']:.0f} "
            f"| {r['tree_peak_rss_mb']:.0f} | {r['load_after']} |"
        )
    return rows


def _tolerance_lines(tol: dict) -> list[str]:
    out = [
        f"Output vs torch fp32 on {tol['frames']} held-out frames (pixel levels; the test model's "
        f"output std {tol['output_std']:.0f} levels):"
    ]
    for runtime, t in tol.items():
        if isinstance(t, dict):
            convs = f"; convolutions {t['convolutions']}" if "convolutions" in t else ""
            out.append(f"  {runtime:<14} max {t['max']}, mean {t['mean']:.3f}, p99 {t['p99']:.0f}{convs}")
    return out


def verdict(report: dict) -> list[str]:
    """One line per target: met or not, with the figures that decide it."""
    default = report["default_runtime"]
    runs = [r for r in report["pipeline"] if r["run"] == "first"]
    mine = {r["seconds_of_video"]: r for r in runs if r["runtime"] == default}
    tol = report.get("tolerance", {})
    lines = ["Against the speed issue's targets:"]

    def say(ok: bool, text: str) -> None:
        lines.append(f"  [{'met' if ok else 'MISSED'}] {text}")

    short = [mine[s] for s in (20, 60) if s in mine] or list(mine.values())
    if short:
        fps = ", ".join(f"{r['seconds_of_video']} s {r['fps']:.1f}" for r in short)
        say(all(r["fps"] >= DEFAULT_FPS for r in short), f"{default} >= {DEFAULT_FPS:g} frames/s: {fps}")
        worst = max(r["first_progress_s"] for r in short)
        say(worst <= FIRST_PROGRESS_S, f"first progress <= {FIRST_PROGRESS_S} s: at most {worst:.3f} s")
    if mine:
        peaks = {s: r["peak_rss_mb"] for s, r in sorted(mine.items())}
        growth = peaks[max(peaks)] / peaks[min(peaks)] - 1
        text = ", ".join(f"{s} s {p:.0f}" for s, p in peaks.items())
        say(max(peaks.values()) <= PEAK_MB and growth <= FLAT, f"peak RSS MB {text} ({growth:+.0%})")
    for runtime in sorted({r["runtime"] for r in runs} - {default, "original"}):
        theirs = [r for r in runs if r["runtime"] == runtime and r["seconds_of_video"] in (20, 60)]
        t = tol.get(runtime)
        inside = t is not None and (
            t["max"] <= FLOAT_MAX
            if "int8" not in runtime
            else t["max"] <= INT8_MAX and t["mean"] <= INT8_MEAN
        )
        if theirs and min(r["fps"] for r in theirs) >= MOONSHOT_FPS:
            fps = ", ".join(f"{r['fps']:.1f}" for r in theirs)
            say(inside, f"moonshot {runtime} >= {MOONSHOT_FPS:g} frames/s ({fps}), within tolerance: {t}")
    narration = report.get("narration", [])
    for video in sorted({r["video"] for r in narration}):
        peaks = {r["minutes"]: r["peak_rss_mb"] for r in narration if r["video"] == video}
        growth = peaks[max(peaks)] / peaks[min(peaks)] - 1
        text = ", ".join(f"{m:g} min {p:.0f}" for m, p in sorted(peaks.items()))
        say(
            max(peaks.values()) <= PEAK_MB and growth <= FLAT,
            f"narration on {video}: MB {text} ({growth:+.0%})",
        )
    return lines
