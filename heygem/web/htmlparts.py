"""The small pieces every HTML view of the page uses: a state's colour, a progress bar, a
duration as a person reads it."""

from __future__ import annotations

STATE_COLOURS = {
    "queued": "#6b7280",
    "running": "#2563eb",
    "done": "#16a34a",
    "failed": "#dc2626",
    "cancelled": "#9ca3af",
    "partial": "#d97706",
}


def fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def bar(fraction: float, colour: str = "#2563eb") -> str:
    pct = max(0.0, min(1.0, fraction)) * 100
    return (
        '<div class="hg-bar" style="background:#e5e7eb;border-radius:6px;height:14px;overflow:hidden">'
        f'<div style="width:{pct:.1f}%;background:{colour};height:100%"></div></div>'
    )
