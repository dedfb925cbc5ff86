"""Answer normalization shared by the math-like tasks and their verifier.

`normalize_answer` makes the candidate key: answers that are trivially equal ("72", "72.0",
"$72$", "\\boxed{72}") get one key and are verified once. It must stay conservative: two
answers with one key are treated as the same answer, so it only removes notation that
never changes the value. It runs once per sample (millions per run), so every step is a
precompiled regex or a str method, and plain integers leave on the first line.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_PLAIN_INT = re.compile(r"-?\d{1,60}")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_DECIMAL = re.compile(r"[-+]?(?:\d{1,60}(?:\.\d{0,60})?|\.\d{1,60})")
_SLASH_FRACTION = re.compile(r"([-+]?\d{1,60}(?:\.\d{1,60})?)/(\d{1,60}(?:\.\d{1,60})?)")
# \frac{3}{4}, \frac34, \frac{3}4, -\frac{3}{4}, \frac{-3}{4} (after \dfrac/\tfrac -> \frac)
_LATEX_FRACTION = re.compile(
    r"([-+]?)\\frac(?:\{([-+]?\d{1,60}(?:\.\d{1,60})?)\}|(\d))(?:\{(\d{1,60}(?:\.\d{1,60})?)\}|(\d))"
)
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|textrm|mathrm|mbox)\{([^{}]*)\}")
# Spacing commands and wrappers that never change a value.
_NOISE = re.compile(r"\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\[!,;:]|\\displaystyle|\^\{?\\circ\}?")
_FRAC_VARIANT = re.compile(r"\\[dt]frac(?![a-zA-Z])")
# Keep one space where it separates a command from a following letter (\pi r), drop the rest.
_SPACES = re.compile(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])|\s+")
_BOX_OPENERS = ("\\boxed{", "\\fbox{")


def _canonical_int(text: str) -> str:
    return str(int(text))  # "072" -> "72", "-0" -> "0"


def matching_brace(text: str, open_index: int) -> int:
    """Index of the '}' closing the '{' at open_index, or -1 when unbalanced."""
    depth = 0
    for index in range(open_index, len(text)):
        char = text[index]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def last_boxed_content(text: str) -> str | None:
    """The content of the last \\boxed{...} or \\fbox{...} (balanced braces), or None.

    Also accepts the brace-less form "\\boxed 5" that some models write.
    """
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    after = start + (6 if text.startswith("\\boxed", start) else 5)
    rest = text[after:].lstrip()
    if rest.startswith("{"):
        close = matching_brace(rest, 0)
        return rest[1:close] if close > 0 else None
    if not text[after : after + 1].isspace():
        return None  # \boxedfoo is another command
    word = rest.split("$", 1)[0].split(None, 1)
    return (word[0].rstrip(".") or None) if word else None


def _unwrap_boxes(text: str) -> str:
    """'\\boxed{\\boxed{3}}' -> '3', only when the box spans the whole string."""
    while text.startswith(_BOX_OPENERS) and text.endswith("}"):
        open_index = text.find("{")
        if open_index < 0 or matching_brace(text, open_index) != len(text) - 1:
            break
        text = text[open_index + 1 : -1].strip()
    return text


def clean_answer(text: str) -> str:
    """Strip notation that never changes a value; keeps everything else as written."""
    text = text.strip()
    if "$" in text:  # math delimiters and escaped dollar signs (\$18.90) alike
        text = text.replace("\\$", "").replace("$", "").strip()
    if "\\" in text:
        text = _unwrap_boxes(text)
        text = _TEXT_WRAPPER.sub(r"\1", text)
        text = _NOISE.sub("", text)
        text = _FRAC_VARIANT.sub(r"\\frac", text)
    if "{,}" in text:
        text = text.replace("{,}", ",")  # LaTeX thousands separator 10{,}000
    if " " in text or "\n" in text or "\t" in text:
        text = _SPACES.sub(lambda m: m.group(1) + " " if m.group(1) else "", text)
    text = text.rstrip(".")
    if "," in text and _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    return text


def _parse_number(text: str) -> Fraction | None:
    """An exact value for integers, decimals, a/b and \\frac forms; None for anything else."""
    try:
        if _DECIMAL.fullmatch(text):
            return Fraction(text)
        if "/" in text:
            match = _SLASH_FRACTION.fullmatch(text)
            if match and Fraction(match[2]) != 0:
                return Fraction(match[1]) / Fraction(match[2])
            return None
        if "\\frac" in text:
            match = _LATEX_FRACTION.fullmatch(text)
            if match:
                denominator = Fraction(match[4] or match[5])
                if denominator != 0:
                    value = Fraction(match[2] or match[3]) / denominator
                    return -value if match[1] == "-" else value
    except (ValueError, ZeroDivisionError):  # e.g. digits beyond int's string limit
        return None
    return None


# Samples repeat answers heavily (that is what majority voting feeds on), so a bounded
# cache turns most calls into one dict lookup.
@lru_cache(maxsize=1 << 16)
def numeric_value(text: str) -> Fraction | None:
    """The exact value of a plain-number answer ("0.50", "\\frac{1}{2}", "1,000"), else None."""
    if _PLAIN_INT.fullmatch(text):
        return Fraction(int(text))
    return _parse_number(clean_answer(text))


@lru_cache(maxsize=1 << 16)
def normalize_answer(text: str) -> str:
    """The candidate key: cleaned notation, and numbers in one exact form ("3/4", "72")."""
    if _PLAIN_INT.fullmatch(text):
        return _canonical_int(text)
    cleaned = clean_answer(text)
    value = _parse_number(cleaned)
    return str(value) if value is not None else cleaned
