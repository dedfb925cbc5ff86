"""The attempt's file context: the spans the model identified, as they read now, shown with every prompt.

As in Moatless Tools, what the model marked relevant stays in view however long the
conversation gets (observations may be elided, this is not), and it shows the code with the
attempt's edits: spans move with the lines above them and grow over an edit that touches
them (`tools.shift_span`). Spans of a file are merged and shown in file order.
"""

from __future__ import annotations

from agents.repo import split_lines
from agents.tools import Span, Workspace

HEADER = "File context (the code you identified, as it reads now with your edits):"


def merged_spans(spans: list[Span]) -> dict[str, list[tuple[int, int]]]:
    """Per file (in the order files were first identified), its spans sorted and merged where they touch."""
    by_file: dict[str, list[tuple[int, int]]] = {}
    for span in spans:
        by_file.setdefault(span.path, []).append((span.start, span.end))
    merged: dict[str, list[tuple[int, int]]] = {}
    for path, ranges in by_file.items():
        out: list[tuple[int, int]] = []
        for start, end in sorted(ranges):
            if out and start <= out[-1][1] + 1:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        merged[path] = out
    return merged


def file_context(ws: Workspace, max_lines: int) -> str:
    """The text shown with the next prompt; empty when nothing is identified."""
    if not ws.identified:
        return ""
    parts, shown, left = [HEADER], 0, 0
    for path, ranges in merged_spans(ws.identified).items():
        lines = split_lines(ws.overlay.read(path) or "")
        parts.append(path)
        for start, end in ranges:
            end = min(end, len(lines))
            take = max(0, min(end - start + 1, max_lines - shown))
            width = len(str(end))
            parts += [f"{n:>{width}}| {lines[n - 1]}" for n in range(start, start + take)]
            if start + take <= end:
                left += end - start - take + 1
                parts.append("...")
            shown += take
    if left:
        parts.append(f"({left} identified lines not shown: at most {max_lines} are; view them when needed)")
    return "\n".join(parts)
