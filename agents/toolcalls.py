"""The agent's commands as OpenAI function tools, and tool calls turned into actions.

`action_format: tools` sends `TOOL_SCHEMAS` with every request; the model answers with
`tool_calls`. A call becomes the same `Action` the text format yields, so the tools and the
trajectory are the same in both formats. Calls are read tolerantly (an alias for a name, a
line number given as a string, unknown extra keys), but a call that names no tool, carries
arguments that are not a JSON object or lacks a required argument is a format error: the
message says what was wrong, and it counts against the retry budget like malformed text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agents.actions import COMMANDS, Action, ActionError, Replacement, canonical_command
from harness.records import ToolCall

_STRING, _LINE = {"type": "string"}, {"type": "integer", "minimum": 1}


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


TOOL_SCHEMAS: tuple[dict[str, Any], ...] = (
    _tool("find_files", "List repository files matching a glob pattern, e.g. **/config.py.",
          {"pattern": _STRING}, ["pattern"]),
    _tool("find_definition", "Where a class or function is defined, e.g. parse_header or Parser.parse.",
          {"name": _STRING, "path_pattern": {**_STRING, "description": "optional glob narrowing the files"}}, ["name"]),
    _tool("search_code", "Code chunks that best match keywords or a code fragment.",
          {"query": _STRING, "path_pattern": {**_STRING, "description": "optional glob narrowing the files"}}, ["query"]),
    _tool("view", "Read lines of a file; a long file without a range shows its outline.",
          {"path": _STRING, "start_line": _LINE, "end_line": _LINE}, ["path"]),
    _tool("identify", "Mark lines of a file as relevant to the issue; they are shown to you, as they read now, with every later message.",
          {"path": _STRING, "start_line": _LINE, "end_line": _LINE}, ["path", "start_line", "end_line"]),
    _tool("edit", "Replace text in a file. `search` must be copied exactly from the file (indentation included) "
          "and occur exactly once; an empty `search` on a new path creates the file. An edit that leaves a "
          "Python file unparseable is rejected.",
          {"path": _STRING, "search": _STRING, "replace": _STRING}, ["path", "search", "replace"]),
    _tool("finish", "End the attempt: your edits become the patch.", {}, []),
)
TOOL_NAMES = tuple(schema["function"]["name"] for schema in TOOL_SCHEMAS)
_REQUIRED = {s["function"]["name"]: s["function"]["parameters"]["required"] for s in TOOL_SCHEMAS}
_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)


def _arguments(call: ToolCall, name: str) -> dict[str, Any]:
    if not call.arguments.strip():
        arguments: Any = {}
    else:
        try:
            arguments = json.loads(call.arguments)
        except ValueError as exc:
            raise ActionError(f"The arguments of your {name} call are not valid JSON ({exc}). "
                              "Call the tool again with a JSON object of arguments.") from None
    if not isinstance(arguments, dict):
        raise ActionError(f"The arguments of your {name} call must be a JSON object, not {type(arguments).__name__}.")
    missing = [key for key in _REQUIRED[name] if arguments.get(key) is None]
    if missing:
        raise ActionError(f"Your {name} call lacks {', '.join(missing)}. Call it again with every required argument.")
    return arguments


def _line(arguments: dict[str, Any], key: str, name: str) -> str | None:
    value = arguments.get(key)
    if value is None:
        return None
    try:
        return str(int(value))
    except (TypeError, ValueError):
        raise ActionError(f"{name}: {key} must be a line number, got {value!r}.") from None


def action_from_call(call: ToolCall) -> Action:
    """The action a tool call asks for; ActionError (the model's feedback) when it is unusable."""
    name = canonical_command(call.name) if call.name else None
    if name is None:
        said = f"{call.name!r}" if call.name else "no tool name"
        raise ActionError(f"Unknown tool ({said}). Call exactly one of: {', '.join(TOOL_NAMES)}.")
    args = _arguments(call, name)
    text = {key: str(value) for key, value in args.items() if isinstance(value, str | int | float)}
    glob = [f"--path={text['path_pattern']}"] if text.get("path_pattern") else []
    if name == "find_files":
        return Action(name, [text.get("pattern", "")])
    if name == "find_definition":
        return Action(name, [text.get("name", ""), *(g.removeprefix("--path=") for g in glob)])
    if name == "search_code":
        return Action(name, glob, str(args["query"]))
    if name in ("view", "identify"):
        start, end = _line(args, "start_line", name), _line(args, "end_line", name)
        if name == "identify":
            return Action(name, [text.get("path", ""), f"{start}-{end}"])
        return Action(name, [text.get("path", ""), *([start or "1"] if start or end else []), *([end] if end else [])])
    if name == "edit":
        search, replace = args["search"], args["replace"]
        if not isinstance(search, str) or not isinstance(replace, str):
            raise ActionError("edit: search and replace must be strings.")
        return Action(name, [text.get("path", "")], replacements=(Replacement(search, replace),))
    return Action(name)


def calls_in_text(text: str) -> tuple[ToolCall, ...]:
    """Calls a server left in the text (its tool parser failed): `<tool_call>{"name": ..., "arguments": ...}</tool_call>`."""
    calls = []
    for n, match in enumerate(_HERMES.finditer(text)):
        try:
            data = json.loads(match.group(1))
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            arguments = data.get("arguments", data.get("parameters", {}))
            raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
            calls.append(ToolCall(id=f"text_{n}", name=data["name"], arguments=raw))
    return tuple(calls)


def call_for(action: Action, call_id: str) -> ToolCall:
    """The tool call that asks for `action` (the simulated and scripted models play tools mode with it).

    An edit with several SEARCH/REPLACE blocks becomes a call for its first block.
    """
    from agents.actions import parse_replacements  # noqa: PLC0415

    args: dict[str, Any] = {}
    if action.name == "find_files":
        args = {"pattern": " ".join(action.args)}
    elif action.name == "find_definition":
        args = {"name": action.args[0] if action.args else "", **({"path_pattern": action.args[1]} if len(action.args) > 1 else {})}
    elif action.name == "search_code":
        args = {"query": " ".join([*action.args, action.body]).strip()}
    elif action.name in ("view", "identify"):
        args = _location(action)
    elif action.name == "edit":
        block = (action.replacements or tuple(parse_replacements(action.body)))[0]
        args = {"path": action.args[0] if action.args else "", "search": block.search, "replace": block.replace}
    assert action.name in COMMANDS
    return ToolCall(id=call_id, name=action.name, arguments=json.dumps(args))


def _location(action: Action) -> dict[str, Any]:
    from agents.tools import _split_location  # noqa: PLC0415 - tools imports the actions this module makes

    path, numbers = _split_location(action.args)
    lines = [int(n) for n in numbers[:2] if n.isdigit()]
    return {"path": path, **dict(zip(("start_line", "end_line"), lines))}
