"""The prompt the agent starts from: the tools, how to call them (text actions or tool calls), and the issue."""

from __future__ import annotations

from typing import Any

from harness.records import Problem

SYSTEM = """You are a software engineer fixing an issue in a Python repository. You cannot run code. \
Work in steps: find the code the issue is about, read it, then edit it. Each of your responses may \
think briefly and must end with exactly one action in an ```action block. The commands:

find_files <glob>                 list files by pattern, e.g. find_files **/ops.py
find_definition <name>            where a class or function is defined, e.g. find_definition Parser.parse
search_code <keywords>            code chunks that best match the words, e.g. search_code empty list mean
view <path> [start] [end]         read lines of a file (a long file without a range shows its outline)
identify <path> <start>-<end>     mark code as relevant: it is shown to you, as it reads now, with every later message
edit <path>                       replace text in a file; the body is one or more blocks:
<<<<<<< SEARCH
(lines copied exactly from the file, indentation included; they must occur exactly once)
=======
(the new lines)
>>>>>>> REPLACE
finish                            end: your edits become the patch

Test files are hidden from the searches and will be replaced by the hidden tests: fix the source. \
An edit that does not match exactly once, or that leaves a Python file unparseable, is rejected and \
nothing changes. Old observations may be elided to save context; repeat an action to see one again. \
Example response:

The division floors; it should not.
```action
edit calc/ops.py
<<<<<<< SEARCH
    return a // b
=======
    return a / b
>>>>>>> REPLACE
```"""

SYSTEM_TOOLS = """You are a software engineer fixing an issue in a Python repository. You cannot run code. \
Work in steps: find the code the issue is about (find_files, find_definition, search_code), read it (view), \
mark what matters (identify: it stays in view, as it reads now, with every later message), then change it \
(edit) and finish. Call exactly one tool per response; you may think briefly before the call.

Test files are hidden from the searches and will be replaced by the hidden tests: fix the source. \
An edit whose search text does not occur exactly once, or that leaves a Python file unparseable, is \
rejected and nothing changes. Old tool results may be elided to save context; repeat a call to see one again."""

ISSUE = """Repository: {repo} (checked out at {commit}).

<issue>
{issue}
</issue>

Find the cause and fix it. Start with a search."""


def initial_messages(problem: Problem, tools: bool = False) -> list[dict[str, Any]]:
    issue = ISSUE.format(repo=problem.data.get("repo", "?"), commit=str(problem.data.get("base_commit", "?"))[:12],
                         issue=problem.question.strip())
    return [{"role": "system", "content": SYSTEM_TOOLS if tools else SYSTEM}, {"role": "user", "content": issue}]


def observation_message(observation: str) -> str:
    return f"Observation:\n{observation}"
