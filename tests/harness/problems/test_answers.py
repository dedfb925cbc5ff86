import time
from fractions import Fraction

import pytest

from harness.problems.answers import (
    clean_answer,
    last_boxed_content,
    normalize_answer,
    numeric_value,
)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("72", "72"),
        ("72.0", "72"),
        ("072", "72"),
        ("$72$", "72"),
        ("\\boxed{72}", "72"),
        ("72.", "72"),
        ("1,000", "1000"),
        ("1{,}000", "1000"),
        ("1\\,000", "1000"),
        ("-0", "0"),
        ("0.50", "1/2"),
        (".5", "1/2"),
        ("3/4", "3/4"),
        ("\\frac{3}{4}", "3/4"),
        ("\\dfrac{3}{4}", "3/4"),
        ("\\tfrac34", "3/4"),
        ("-\\frac12", "-1/2"),
        ("\\frac{-3}{4}", "-3/4"),
        ("\\frac{6}{8}", "3/4"),
        ("90^\\circ", "90"),
        ("90^{\\circ}", "90"),
        ("\\$18.90", "189/10"),
        ("\\text{(A)}", "(A)"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"),
        ("\\dfrac{\\sqrt{2}}{2}", "\\frac{\\sqrt{2}}{2}"),
        ("x = 3", "x=3"),
        ("(1, 2)", "(1,2)"),
        ("\\pi r^2", "\\pi r^2"),  # the space after a command is part of the meaning
        ("\\frac{3}{0}", "\\frac{3}{0}"),
        ("1/0", "1/0"),
    ],
)
def test_normalize_answer(raw: str, key: str) -> None:
    assert normalize_answer(raw) == key


def test_lists_and_decimals_with_commas_are_not_thousands() -> None:
    assert normalize_answer("1,2") == "1,2"
    assert normalize_answer("1,23") == "1,23"
    assert normalize_answer("(1,000)") == "(1,000)"


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("72", Fraction(72)),
        ("-72.00", Fraction(-72)),
        ("0.75", Fraction(3, 4)),
        ("\\frac{3}{4}", Fraction(3, 4)),
        ("-\\dfrac12", Fraction(-1, 2)),
        ("$\\boxed{1,000}$", Fraction(1000)),
        ("3/4", Fraction(3, 4)),
    ],
)
def test_numeric_value(raw: str, value: Fraction) -> None:
    assert numeric_value(raw) == value


@pytest.mark.parametrize("raw", ["x", "\\sqrt{2}", "(1,2)", "10\\%", "1/0", "", "3x", "1e5", "\\frac{\\pi}{2}"])
def test_numeric_value_none(raw: str) -> None:
    assert numeric_value(raw) is None


def test_huge_numbers_do_not_raise() -> None:
    assert numeric_value("1" * 5000) is None
    assert normalize_answer("1" * 5000) == "1" * 5000


def test_clean_answer_unwraps_whole_boxes_only() -> None:
    assert clean_answer("\\boxed{\\boxed{3}}") == "3"
    assert clean_answer("\\boxed{1} + \\boxed{2}") == "\\boxed{1}+\\boxed{2}"


@pytest.mark.parametrize(
    ("text", "content"),
    [
        ("so $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
        ("\\boxed{1} then \\boxed{2}", "2"),
        ("\\fbox{7}", "7"),
        ("answer \\boxed{\\{1, 2\\}}", "\\{1, 2\\}"),
        ("answer \\boxed 5$.", "5"),
        ("unbalanced \\boxed{3", None),
        ("\\boxedfoo 3", None),
        ("nothing here", None),
    ],
)
def test_last_boxed_content(text: str, content: str | None) -> None:
    assert last_boxed_content(text) == content


def test_normalize_is_fast() -> None:
    # A run normalizes every sample; distinct strings defeat the cache, so this is the slow path.
    texts = [f"\\frac{{{i}}}{{{i + 7}}}" for i in range(50_000)] + [f"{i}.25" for i in range(50_000)]
    started = time.perf_counter()
    for text in texts:
        normalize_answer(text)
    assert time.perf_counter() - started < 5.0
