"""One-line messages stay one harmless line, whatever bytes a damaged input put into them."""

import pytest

from evalkit.errors import Problem, UserError, printable


@pytest.mark.parametrize("raw, shown", [
    ("\x00" * 3, "\\x00\\x00\\x00"),
    ("a\nb\r\tc", "a\\nb\\r\\tc"),
    ("\x1b[31mred", "\\x1b[31mred"),  # a terminal escape sequence cannot recolour the terminal
    ("\x7f\x85", "\\x7f\\x85"),  # DEL and a C1 control
    ("rtl\u202eevil", "rtl\\u202eevil"),  # a bidi override cannot reorder the line
    ("line\u2028sep", "line\\u2028sep"),
])
def test_control_and_invisible_characters_are_escaped(raw, shown):
    assert printable(raw) == shown


def test_ordinary_text_is_left_alone():
    text = "baselines/core/main.results.parquet: 'rca_top1' — naïve 中文 \\ back-slash"
    assert printable(text) == text


def test_every_part_of_a_problem_is_escaped_and_it_stays_one_line():
    line = str(Problem("journal\n.jsonl", "line\x003", "\x00" * 60 + "\x1b]0;title\x07", "fix\nit"))
    assert "\n" not in line and "\x00" not in line and "\x1b" not in line and "\x07" not in line
    assert line.startswith("journal\\n.jsonl: line\\x003 '\\x00") and line.endswith(": fix\\nit")


def test_a_long_value_is_clipped_after_escaping():
    line = str(Problem("f", "x", "\x00" * 500, "fix"))
    assert len(line) < 160 and "..." in line


def test_user_error_lines_given_as_text_are_escaped_too():
    err = UserError("worker said \x1b[2J", Problem("w", "f", "v", "z"))
    assert str(err).splitlines() == ["worker said \\x1b[2J", "w: f 'v': z"]
