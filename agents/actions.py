"""The text action format, parsed tolerantly.

A response holds free prose and one action. The format the prompt teaches::

    ```action
    view pkg/module.py 10 40
    ```

An edit carries a SEARCH/REPLACE body under its command line::

    ```action
    edit pkg/module.py
    <<<<<<< SEARCH
        return price * (1 - discount)
    =======
        return round(price * (1 - discount), 2)
    >>>>>>> REPLACE
    ```

Also accepted, because open models drift: `<action name="view">pkg/module.py 10 40</action>`
and `<action>view pkg/module.py</action>`, any case in tags and command names, common
aliases (`open`, `grep`, `submit`, ...), a missing closing fence or tag, a fence labelled
with another language whose first line is a command, and a bare command line when the
response has no block at all. When several actions are given only the first one runs.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

COMMANDS = ("find_files", "find_definition", "search_code", "view", "identify", "edit", "finish")
ALIASES = {
    "glob": "find_files", "find_file": "find_files", "search_files": "find_files", "ls": "find_files",
    "find_class": "find_definition", "find_function": "find_definition", "definition": "find_definition",
    "find_definitions": "find_definition", "goto_definition": "find_definition",
    "search": "search_code", "grep": "search_code", "search_text": "search_code", "semantic_search": "search_code",
    "open": "view", "view_file": "view", "cat": "view", "show": "view", "read": "view", "open_file": "view",
    "identify_code": "identify", "relevant": "identify", "mark": "identify",
    "replace": "edit", "str_replace": "edit", "search_replace": "edit", "edit_file": "edit",
    "submit": "finish", "done": "finish", "finish_task": "finish", "stop": "finish",
}

_XML = re.compile(r"<action(?:\s+name\s*=\s*[\"']?([\w-]+)[\"']?)?\s*>(.*?)(?:</action\s*>|\Z)", re.IGNORECASE | re.DOTALL)
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_SEARCH = re.compile(r"^[ \t]*<{3,}[ \t]*search[ \t]*$", re.IGNORECASE | re.MULTILINE)
_DIVIDER = re.compile(r"^[ \t]*={3,}[ \t]*$", re.MULTILINE)
_REPLACE_END = re.compile(r"^[ \t]*>{3,}[ \t]*replace[ \t]*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Replacement:
    search: str
    replace: str
    # Other readings of the same text block: the code itself held a line like the ======= divider
    # (sympy's docstrings underline "Returns" with =======), so the split was ambiguous.
    alternatives: tuple[Replacement, ...] = ()


@dataclass(frozen=True)
class Action:
    name: str  # one of COMMANDS
    args: list[str] = field(default_factory=list)
    body: str = ""  # lines after the command line (an edit's SEARCH/REPLACE blocks)
    note: str = ""  # said back to the model, e.g. "only the first of 2 actions was run"
    # An edit from a tool call: its search and replace strings as given (no text markers to parse,
    # so a "=======" line inside the code cannot be mistaken for one).
    replacements: tuple[Replacement, ...] = ()

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "args": self.args, "body": self.body}
        if self.replacements:
            data["edits"] = [[r.search, r.replace] for r in self.replacements]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Action:
        edits = tuple(Replacement(search, replace) for search, replace in data.get("edits") or ())
        return cls(data["name"], list(data.get("args") or ()), data.get("body") or "", replacements=edits)


class ActionError(ValueError):
    """A response without a usable action; the message is the feedback the model gets."""


def canonical_command(word: str) -> str | None:
    word = word.strip().strip("`*:").lower().replace("-", "_")
    return word if word in COMMANDS else ALIASES.get(word)


def _split_args(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError:  # an unbalanced quote: plain whitespace split is the best guess
        return line.split()


def _from_block(text: str, name_hint: str | None) -> Action | None:
    """An action from a block's text: the first line is `command args...` unless the tag named it."""
    lines = text.strip("\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if name_hint:
        name = canonical_command(name_hint)
        if name is None:
            return None
        first_args = _split_args(lines[0]) if lines and not _SEARCH.match(lines[0]) else []
        if first_args and canonical_command(first_args[0]) == name:  # <action name="view">view a.py</action>
            first_args = first_args[1:]
        body_start = 1 if first_args or (lines and not lines[0].strip()) else 0
        return Action(name, first_args, "\n".join(lines[body_start:]))
    if not lines:
        return None
    words = _split_args(lines[0])
    name = canonical_command(words[0]) if words else None
    if name is None:
        return None
    return Action(name, words[1:], "\n".join(lines[1:]))


def _blocks(text: str) -> list[tuple[int, Action]]:
    """Every action-looking block with its position, XML and fenced alike."""
    found: list[tuple[int, Action]] = []
    for match in _XML.finditer(text):
        action = _from_block(match.group(2), match.group(1))
        if action is not None:
            found.append((match.start(), action))
    for match in _FENCE.finditer(text):
        label = match.group(1).lower()
        action = _from_block(match.group(2), None)
        if action is not None and (label in ("action", "") or label in ("bash", "sh", "shell", "text", "python", "diff")):
            found.append((match.start(), action))
    return sorted(found, key=lambda pair: pair[0])


def _bare(text: str) -> Action | None:
    """No block at all: the first line that starts with a command word (prose lines are skipped)."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        words = _split_args(line.strip())
        if words and words[0] == words[0].lower() and canonical_command(words[0]) and not line.startswith(" "):
            if len(words) == 1 and canonical_command(words[0]) != "finish":
                continue  # a lone word like "view" in prose is not an action
            return Action(canonical_command(words[0]) or "", words[1:], "\n".join(lines[i + 1:]))
    return None


def parse_action(text: str) -> Action:
    """The first action in a response; raises ActionError with feedback when there is none."""
    if not text or not text.strip():
        raise ActionError("Your response was empty. Reply with one action in an ```action block.")
    blocks = _blocks(text)
    if blocks:
        action = blocks[0][1]
        if len(blocks) > 1:
            action = Action(action.name, action.args, action.body,
                            f"Only the first of your {len(blocks)} actions was run; give one action per response.")
        return action
    bare = _bare(text)
    if bare is not None:
        return bare
    raise ActionError("No action found in your response. End every response with exactly one action, e.g.\n"
                      "```action\nsearch_code keywords from the issue\n```\n"
                      f"Commands: {', '.join(COMMANDS)}.")


# --- edit bodies -------------------------------------------------------------------------------


def parse_replacements(body: str) -> list[Replacement]:
    """The SEARCH/REPLACE blocks of an edit body; a missing final REPLACE marker is tolerated."""
    starts = list(_SEARCH.finditer(body))
    if not starts:
        raise ActionError("An edit needs a body of the form\n<<<<<<< SEARCH\n(exact lines now in the file)\n"
                          "=======\n(the lines to put there instead)\n>>>>>>> REPLACE")
    blocks: list[Replacement] = []
    for n, start in enumerate(starts):
        end = starts[n + 1].start() if n + 1 < len(starts) else len(body)
        blocks.append(_one_replacement(body[start.end():end]))
    return blocks


def _one_replacement(chunk: str) -> Replacement:
    """The block split at its divider. Every ======= line is a possible divider (docstring underlines
    look the same): the first unindented line of exactly seven is the reading tried first, the others
    are kept as alternatives for the edit tool, which picks among the readings whose SEARCH text matches."""
    closing = _REPLACE_END.search(chunk)
    end = closing.start() if closing else len(chunk)
    dividers = [d for d in _DIVIDER.finditer(chunk) if d.start() < end]
    if not dividers:
        raise ActionError("A SEARCH block has no ======= line between the search and the replacement text.")
    dividers.sort(key=lambda d: d.group().rstrip() != "=======")  # stable: file order within each kind
    readings = []
    for divider in dividers:
        replace = chunk[divider.end():end]
        if closing is None:  # the block ran to the end: drop a trailing fence or tag the model left there
            replace = re.sub(r"\n[ \t]*(```|</action>)[ \t]*\s*\Z", "\n", replace, flags=re.IGNORECASE)
        readings.append(Replacement(_trim_newlines(chunk[:divider.start()]), _trim_newlines(replace)))
    return Replacement(readings[0].search, readings[0].replace, tuple(readings[1:]))


def _trim_newlines(text: str) -> str:
    """Drop the newline after the marker line and the one before the next marker, nothing else."""
    text = text.removeprefix("\n")
    return text.removesuffix("\n")
