"""An MBPP or MBPP+ row of any shape read into one spec: description, reference, tests, set-up.

Problem data only: the task (harness.problems.mbpp) and the verifier (harness.verifiers.code)
both read it, so neither imports the other for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PLUS_TEST_IMPORTS = "import math\nimport sys"
_ASSERT_LINE = re.compile(r"^\s*assert\b.*$", re.MULTILINE)


@dataclass(frozen=True)
class MBPPSpec:
    """What every MBPP row shape says, in one form."""

    description: str
    reference: str  # a correct program ("" when the row has none)
    tests: str  # assert statements, one program fragment
    shown_tests: tuple[str, ...]  # the asserts a prompt shows
    setup: str  # imports and set-up the tests need


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    return value if isinstance(value, str) else ""


def _string_list(data: dict[str, Any], field: str) -> list[str]:
    value = data.get(field) or []
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _plus_spec(data: dict[str, Any]) -> MBPPSpec:
    docstring = _text(data, "prompt").strip().strip('"').strip()
    shown = tuple(m.strip() for m in _ASSERT_LINE.findall(docstring))
    description = _ASSERT_LINE.sub("", docstring).strip()
    # Some MBPP+ assertions use math / sys without importing them (Mbpp/120, Mbpp/596).
    return MBPPSpec(description, _text(data, "canonical_solution").strip("\n"), _text(data, "assertion").strip("\n"),
                    shown, PLUS_TEST_IMPORTS)


def mbpp_spec(data: dict[str, Any]) -> MBPPSpec:
    """The spec of a row of any shape; raises ValueError naming what is missing."""
    if "assertion" in data:
        spec = _plus_spec(data)
    else:
        tests = _string_list(data, "test_list")
        setup = "\n".join(_string_list(data, "test_imports") + [_text(data, "test_setup_code")]).strip()
        description = _text(data, "text") or _text(data, "prompt")
        spec = MBPPSpec(description.strip(), _text(data, "code").replace("\r\n", "\n").strip("\n"),
                        "\n".join(tests), tuple(tests), setup)
    if not spec.description:
        raise ValueError("no task description ('text', or 'prompt')")
    if not spec.tests.strip():
        raise ValueError("no tests ('test_list', or 'assertion' for MBPP+)")
    return spec
