"""The result page: one self-contained ``report.html`` per result directory.

The page has inline CSS and no scripts, fonts or other external resources; it opens from disk in any
browser with no server. Videos stay separate files referenced by relative path (``<video controls
src="videos/summary.mp4">``) so the page is small and the videos stream; the loss curves (``losses.png``)
are embedded as a base64 data URI so the page still shows them when copied alone.

Sections, each present only when its source file exists in the result directory:

* videos: ``videos/*.mp4`` and ``*.gif`` (ordered summary, overlay, rotated, progress, then the rest) and
  ``videos/<name>/`` PNG sequences (first frame shown, folder linked);
* metrics: ``metrics.json`` as ``{name: {"value": float|null, "unit": str, ...}}``;
* loss curves: ``losses.png``;
* timings: ``losses.json``'s ``timings`` (seconds per step);
* notes: ``params.json``'s ``log`` lines;
* config: ``config.yaml`` verbatim in a ``<pre>``.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import math
from pathlib import Path

from hoFit.errors import HoFitError
from hoFit.utils.files import write_text

__all__ = ["write_report", "read_metrics_json", "format_metric_value", "VIDEO_ORDER"]

# Known video stems, shown first and in this order; any other video follows alphabetically.
VIDEO_ORDER: tuple[str, ...] = ("summary", "overlay", "rotated", "progress")

_VIDEO_TITLES = {
    "summary": "Input | camera view | rotated views",
    "overlay": "Camera view (fit drawn over the input)",
    "rotated": "Rotated views",
    "progress": "Fitting progress",
}

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1em 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em; }
.sub { color: #666; font-size: 0.9em; }
figure { margin: 0.8em 0; }
figcaption { font-size: 0.9em; color: #444; margin-bottom: 0.3em; }
video, img.media { max-width: 100%; border: 1px solid #ddd; background: #000; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #eee; }
pre { background: #f0f0f0; border: 1px solid #ddd; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
ul.log { font-size: 0.9em; }
"""


def read_metrics_json(path: str | Path) -> list[dict]:
    """Read ``metrics.json`` into a list of ``{"name", "value" (float, NaN for null), "unit", ...}``.

    Accepts ``{name: {"value": v, "unit": u, ...}}`` (hoFit's format), ``{name: number}`` and a list of
    records with a ``"name"`` key.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HoFitError(f"cannot read metrics file {path}: {error}; re-create it with `hofit eval`") from error
    records: list[dict] = []
    items = data.items() if isinstance(data, dict) else ((r.get("name"), r) for r in data if isinstance(r, dict))
    for name, entry in items:
        if isinstance(entry, dict):
            record = dict(entry)
        else:
            record = {"value": entry}
        value = record.get("value")
        try:
            record["value"] = math.nan if value is None else float(value)
        except (TypeError, ValueError):
            raise HoFitError(f"{path}: metric '{name}' has a non-numeric value {value!r}") from None
        record["name"] = str(name)
        record.setdefault("unit", "")
        records.append(record)
    return records


def format_metric_value(value: float) -> str:
    """Four significant digits; "n/a" for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}"


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _find_videos(result_dir: Path) -> list[tuple[str, str, str]]:
    """(kind, relative path, stem) of every video-like output: kind in {"video", "gif", "png"}."""
    found: dict[str, tuple[str, str, str]] = {}
    for folder in (result_dir / "videos", result_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            rel = path.relative_to(result_dir).as_posix()
            if path.name.startswith("."):
                continue
            if path.is_file() and path.suffix.lower() in (".mp4", ".webm"):
                found.setdefault(rel, ("video", rel, path.stem))
            elif path.is_file() and path.suffix.lower() == ".gif":
                found.setdefault(rel, ("gif", rel, path.stem))
            elif path.is_dir() and folder.name == "videos":
                pngs = sorted(p for p in path.iterdir() if p.suffix.lower() == ".png" and not p.name.startswith("."))
                if pngs:
                    found.setdefault(rel, ("png", pngs[0].relative_to(result_dir).as_posix(), path.name))

    def order(item: tuple[str, str, str]) -> tuple[int, str]:
        stem = item[2]
        return (VIDEO_ORDER.index(stem) if stem in VIDEO_ORDER else len(VIDEO_ORDER), item[1])

    return sorted(found.values(), key=order)


def _video_section(result_dir: Path) -> str:
    videos = _find_videos(result_dir)
    if not videos:
        return '<p class="sub">No videos yet: run <code>hofit render RESULT_DIR</code>.</p>'
    parts = []
    for kind, rel, stem in videos:
        title = _VIDEO_TITLES.get(stem, stem)
        src = _esc(rel)
        if kind == "video":
            media = (f'<video controls loop muted playsinline preload="metadata" src="{src}"></video>'
                     f'<br><a class="sub" href="{src}">{src}</a>')
        elif kind == "gif":
            media = f'<img class="media" src="{src}" alt="{_esc(title)}">'
        else:
            folder = _esc(Path(rel).parent.as_posix())
            media = (f'<img class="media" src="{src}" alt="{_esc(title)}, first frame">'
                     f'<br><a class="sub" href="{folder}/">{folder}/ (PNG frames)</a>')
        parts.append(f"<figure><figcaption>{_esc(title)}</figcaption>{media}</figure>")
    return "\n".join(parts)


def _metrics_section(records: list[dict] | None) -> str:
    if records is None:
        return '<p class="sub">No metrics: the clip has no ground truth, or <code>hofit eval</code> was not run.</p>'
    rows = []
    for record in records:
        better = record.get("higher_is_better")
        arrow = "" if better is None else (" &uarr;" if better else " &darr;")
        description = record.get("description", "")
        rows.append(
            f'<tr><td title="{_esc(description)}">{_esc(record["name"])}{arrow}</td>'
            f'<td class="num">{_esc(format_metric_value(record["value"]))}</td>'
            f"<td>{_esc(record.get('unit', ''))}</td></tr>"
        )
    return ('<table id="metrics"><thead><tr><th>metric</th><th>value</th><th>unit</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _timings_section(timings: dict) -> str:
    if not timings:
        return '<p class="sub">No timings recorded.</p>'
    rows = []
    total = 0.0
    for step, seconds in timings.items():
        try:
            value = float(seconds)
        except (TypeError, ValueError):
            continue
        total += value
        rows.append(f'<tr><td>{_esc(step)}</td><td class="num">{value:.2f}</td></tr>')
    rows.append(f'<tr><th>total</th><th class="num">{total:.2f}</th></tr>')
    return ('<table id="timings"><thead><tr><th>step</th><th>seconds</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def write_report(result_dir: str | Path, title: str | None = None, metrics: list[dict] | None = None,
                 path: str | Path | None = None) -> Path:
    """Write ``report.html`` for a result directory (atomically) and return its path.

    Args:
        result_dir: a result directory (see docs/result_directory.md); every section is optional.
        title: page title; default "hoFit result: <clip name>" from ``params.json``, else the folder name.
        metrics: metric records to show instead of reading ``metrics.json`` (same keys as
            :func:`read_metrics_json` returns).
        path: where to write; default ``<result_dir>/report.html``. Relative links assume the page sits in
            ``result_dir``.
    """
    result_dir = Path(result_dir)
    if not result_dir.is_dir():
        raise HoFitError(f"result directory not found: {result_dir}")
    meta: dict = {}
    if (result_dir / "params.json").is_file():
        try:
            meta = json.loads((result_dir / "params.json").read_text())
        except ValueError as error:
            raise HoFitError(f"cannot read {result_dir / 'params.json'}: {error}") from error
    if metrics is None and (result_dir / "metrics.json").is_file():
        metrics = read_metrics_json(result_dir / "metrics.json")
    timings: dict = {}
    if (result_dir / "losses.json").is_file():
        try:
            timings = json.loads((result_dir / "losses.json").read_text()).get("timings", {}) or {}
        except ValueError as error:
            raise HoFitError(f"cannot read {result_dir / 'losses.json'}: {error}") from error

    clip_name = meta.get("clip_name") or result_dir.resolve().name
    title = title or f"hoFit result: {clip_name}"
    frames = meta.get("frame_indices") or []
    subtitle = [f"clip <b>{_esc(clip_name)}</b>"]
    if frames:
        subtitle.append(f"{len(frames)} frames ({frames[0]}&ndash;{frames[-1]})")
    if meta.get("hands") is not None:
        subtitle.append(f"{len(meta['hands'])} hand(s): " + ", ".join(_esc(h.get("side", "?")) for h in meta["hands"]))
    if meta.get("object", {}).get("template"):
        subtitle.append(f"object {_esc(meta['object']['template'])}")
    subtitle.append("written " + datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))

    sections = [f"<h2>Videos</h2>\n{_video_section(result_dir)}",
                f"<h2>Metrics</h2>\n{_metrics_section(metrics)}"]
    losses_png = result_dir / "losses.png"
    if losses_png.is_file():
        data = base64.b64encode(losses_png.read_bytes()).decode("ascii")
        sections.append('<h2>Loss curves</h2>\n<img class="media" id="losses" alt="loss curves per stage and term" '
                        f'src="data:image/png;base64,{data}">')
    sections.append(f"<h2>Timings</h2>\n{_timings_section(timings)}")
    log = meta.get("log") or []
    if log:
        sections.append("<h2>Notes</h2>\n<ul class=\"log\">" + "".join(f"<li>{_esc(line)}</li>" for line in log)
                        + "</ul>")
    config_path = result_dir / "config.yaml"
    if config_path.is_file():
        sections.append(f"<h2>Config</h2>\n<p class=\"sub\"><a href=\"config.yaml\">config.yaml</a></p>"
                        f"<pre id=\"config\">{_esc(config_path.read_text())}</pre>")

    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n<p class=\"sub\">{' &middot; '.join(subtitle)}</p>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )
    out = Path(path) if path is not None else result_dir / "report.html"
    write_text(out, page)
    return out
