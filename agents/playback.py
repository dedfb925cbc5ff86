"""A patch played back through the agent's own actions: view each region, then edit it as viewed.

The simulated model (`simulate`) and the scripted gold trajectories of the tests use this to
reach a known patch the way a model would have to: for each changed region of a file it views
the lines around it, then sends a SEARCH/REPLACE edit whose text is copied from that view
(a few lines of context beyond the hunk's own, so the search text is unique even where the
hunk's context repeats elsewhere in the file, as in sympy's `Union.__new__` and
`Intersection.__new__`; where even that is not enough, the rejection is answered by the
same edit with every viewed line as context); a hunk whose header names the wrong lines (git applies it with an
offset) is found in the view by its text. Regions are edited bottom-up, so the line numbers of the regions
still to do never move. A new file is written with an empty SEARCH. Nothing here reads the repository: the edit is a function of the
observations in the request, so the same plan works against any repository, in every
dialogue form (text, tool calls, transcript), and on a resumed attempt.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from agents.scripted import action, edit_action
from harness.problems.patches import FilePatch, Hunk, parse_patch
from harness.records import GenerationRequest

Entry = str | Callable[[GenerationRequest], str]  # a response, or one computed from the request
CONTEXT = 6  # lines copied beyond a hunk into the SEARCH text, each side
SLACK = 30  # lines viewed beyond a hunk, each side: room for the context and for a hunk header a few dozen lines off
VIEW_LINES = 50  # a view at most this long: under tools.view_max_lines, and short enough not to be cut at observation_max_chars
_VIEW_HEADER = re.compile(r"^(\S+) lines (\d+)-(\d+) of (\d+)(?: \(with your edits\))?:$", re.MULTILINE)
_NUMBERED = re.compile(r"^ *(\d+)\| ?(.*)$")


class Unplayable(ValueError):
    """A patch the edit actions cannot express (a deleted or binary file, a mode change only, unparseable)."""


@dataclass(frozen=True)
class Region:
    """Consecutive hunks of one file close enough to be viewed and edited as one window."""

    path: str
    hunks: tuple[Hunk, ...]

    @property
    def first(self) -> int:  # first old line a hunk touches or shows
        return max(1, self.hunks[0].old_start)

    @property
    def last(self) -> int:
        tail = self.hunks[-1]
        return max(tail.old_start + tail.old_len - 1, self.first)


def sides(hunk: Hunk) -> tuple[str, str]:
    """The hunk's old and new text, exactly (line endings kept; `\\ No newline` honoured)."""
    old: list[str] = []
    new: list[str] = []
    last_kind = " "
    for line in hunk.lines:
        if line.startswith("\\"):
            for kind, side in ((" ", old), (" ", new), ("-", old), ("+", new)):
                if last_kind == kind and side:
                    side[-1] = side[-1].rstrip("\r\n")
            continue
        last_kind = " " if line == "\n" else line[:1]
        body = "\n" if line == "\n" else line[1:]
        if last_kind in (" ", "-"):
            old.append(body)
        if last_kind in (" ", "+"):
            new.append(body)
    return "".join(old), "".join(new)


def regions(file_patch: FilePatch, context: int = CONTEXT) -> list[Region]:
    """The file's hunks grouped where their widened windows would overlap, in file order."""
    path = file_patch.path() or ""
    groups: list[list[Hunk]] = []
    for hunk in file_patch.hunks:
        if groups and hunk.old_start - context <= groups[-1][-1].old_start + groups[-1][-1].old_len - 1 + context + 1:
            groups[-1].append(hunk)
        else:
            groups.append([hunk])
    return [Region(path, tuple(group)) for group in groups]


def _is_new(file_patch: FilePatch) -> bool:
    return any(line.rstrip("\r\n") in ("--- /dev/null",) for line in file_patch.header_lines)


def _is_deleted(file_patch: FilePatch) -> bool:
    return any(line.rstrip("\r\n") in ("+++ /dev/null",) for line in file_patch.header_lines)


def viewed_lines(text: str, path: str) -> dict[int, str]:
    """The numbered lines of the views of `path` in the text since its last edit (line number -> line)."""
    since = text.rfind(f"Edited {path}.")  # earlier views may show lines that have moved since
    found: dict[int, str] = {}
    for header in _VIEW_HEADER.finditer(text, max(since, 0)):
        if header.group(1) != path:
            continue
        last = None
        for line in text[header.end() + 1:].split("\n"):
            match = _NUMBERED.match(line)
            if match is None:
                if line.startswith("... [output cut") and last is not None:  # the observation was cut: its last line is partial
                    found.pop(last)
                break
            last = int(match.group(1))
            found[last] = match.group(2)
    return found


def request_text(request: GenerationRequest) -> str:
    """Everything the model was shown: the transcript prompt, or the messages' text."""
    if request.prompt is not None:
        return request.prompt
    return "\n".join(str(message.get("content") or "") for message in request.messages or ())


def _old_lines(hunk: Hunk) -> list[str]:
    old = sides(hunk)[0]
    return old.removesuffix("\n").split("\n") if old else []


def _offset(region: Region, seen: dict[int, str]) -> int | None:
    """How far the region's text lies from where its hunk headers say, judged from the viewed lines
    (git applies a hunk wherever its text is, and gold patches can be a few dozen lines off); the
    nearest match wins, None when the views do not show it."""
    if not seen:
        return None
    olds = [(hunk.old_start, _old_lines(hunk)) for hunk in region.hunks]
    shifts = sorted(range(min(seen) - region.first, max(seen) - region.first + 1), key=lambda d: (abs(d), d))
    for shift in shifts:
        if all(seen.get(start + shift + k) == line for start, lines in olds for k, line in enumerate(lines)):
            return shift
    return None


def region_edit(region: Region, seen: dict[int, str], context: int = CONTEXT) -> tuple[str, str]:
    """(search, replace) for a region: its window as viewed, with the hunks applied.

    The hunks are found in the viewed lines (at the place their headers name, or the nearest place
    their text is); lines the views did not show are not guessed: when the hunks are not found, or
    a gap between them was not viewed, the edit is the hunks' own text, as a model copying only what
    it saw would write it.
    """
    shift = _offset(region, seen)
    first, last = region.first + (shift or 0), region.last + (shift or 0)
    inner = [n for n in range(first, last + 1)
             if not any(h.old_start + (shift or 0) <= n < h.old_start + (shift or 0) + h.old_len for h in region.hunks)]
    if shift is None or any(n not in seen for n in inner):
        search = replace = ""
        for hunk in region.hunks:
            old, new = sides(hunk)
            search, replace = search + old, replace + new
        return search.removesuffix("\n"), replace.removesuffix("\n")
    before, after = [], []
    line = first - 1
    while line >= first - context and line in seen:
        before.insert(0, seen[line] + "\n")
        line -= 1
    line = last + 1
    while line <= last + context and line in seen:
        after.append(seen[line] + "\n")
        line += 1
    search, replace, position = "".join(before), "".join(before), first
    for hunk in region.hunks:
        start = hunk.old_start + shift
        gap = "".join(seen[n] + "\n" for n in range(position, start))
        old, new = sides(hunk)
        search, replace = search + gap + old, replace + gap + new
        position = start + hunk.old_len
    tail = "".join(after)
    search, replace = search + tail, replace + tail
    if search.endswith("\n") and replace.endswith("\n"):  # the file's last line may have no newline
        search, replace = search[:-1], replace[:-1]
    return search, replace


def _edit_entry(region: Region) -> Callable[[GenerationRequest], str]:
    def respond(request: GenerationRequest) -> str:
        search, replace = region_edit(region, viewed_lines(request_text(request), region.path))
        return edit_action(region.path, search, replace)

    return respond


def _follow_up(region: Region) -> Callable[[GenerationRequest], str]:
    """After the region's edit: when its SEARCH text matched more than once, the same edit again with
    every viewed line around it as context (what the rejection asks for); else the edited region is
    marked as relevant, so it stays in view."""

    def respond(request: GenerationRequest) -> str:
        text = request_text(request)
        if text.rfind("The SEARCH text occurs ") > text.rfind(f"Edited {region.path}."):
            search, replace = region_edit(region, viewed_lines(text, region.path), context=SLACK)
            return edit_action(region.path, search, replace)
        shift = _offset(region, viewed_lines(text[:text.rfind(f"Edited {region.path}.")], region.path)) or 0
        return action(f"identify {region.path} {region.first + shift}-{region.last + shift}")

    return respond


def _views(region: Region) -> list[str]:
    start, end = max(1, region.first - SLACK), region.last + SLACK
    return [action(f"view {region.path} {a} {min(a + VIEW_LINES - 1, end)}") for a in range(start, end + 1, VIEW_LINES)]


def edit_steps(patch: str) -> list[Entry]:
    """The views and edits that turn the repository into the patched one, file by file."""
    try:
        files = parse_patch(patch)
    except Exception as exc:  # noqa: BLE001 - parse_patch raises its own private error
        raise Unplayable(f"the patch does not parse ({type(exc).__name__})") from None
    steps: list[Entry] = []
    for file_patch in files:
        path = file_patch.path()
        if not path:
            raise Unplayable("a file patch names no file")
        if _is_deleted(file_patch):
            raise Unplayable(f"{path}: the patch deletes the file, which no edit action does")
        if _is_new(file_patch):
            new = "".join(sides(hunk)[1] for hunk in file_patch.hunks)
            steps.append(edit_action(path, "", new.removesuffix("\n") if new.endswith("\n") else new))
            continue
        if not file_patch.hunks:
            raise Unplayable(f"{path}: no hunks (a mode change or a binary file)")
        for region in reversed(regions(file_patch)):  # bottom-up: the lines above never move
            steps += [*_views(region), _edit_entry(region), _follow_up(region)]
    if not steps:
        raise Unplayable("the patch changes nothing")
    return steps


def first_path(patch: str) -> str | None:
    try:
        files = parse_patch(patch)
    except Exception:  # noqa: BLE001
        return None
    return next((f.path() for f in files if f.path()), None)


def resolve(entry: Entry, request: GenerationRequest) -> str:
    return entry(request) if callable(entry) else entry
