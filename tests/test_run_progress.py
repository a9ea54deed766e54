"""Progress display: bar with rate/ETA on a TTY, periodic plain lines otherwise, silence when quiet."""

import io

from fake_clock import FakeClock

from evalkit.run.progress import ProgressReporter


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_bar_on_a_terminal_redraws_in_place_with_rate_and_eta():
    s, clock = Tty(), FakeClock()
    p = ProgressReporter(stream=s, bar_interval_s=0, clock=clock)
    p(0, 10)
    clock.advance(2.5)
    p(5, 10)
    clock.advance(2.5)
    p(10, 10)
    p.close()
    text = s.getvalue()
    assert p.mode == "bar" and text.count("\r") == 3 and text.endswith("\n")
    assert "5/10 trials (50%) 2.0/s ETA 0:02" in text and "[" + "#" * 28 + "]" in text


def test_plain_lines_when_not_a_terminal_and_the_final_line_always_shows():
    s, clock = io.StringIO(), FakeClock()
    p = ProgressReporter(stream=s, line_interval_s=3600, clock=clock)
    p(0, 4)
    clock.advance(3599)
    p(2, 4)  # within the interval: not printed
    p(4, 4)
    p(4, 4)  # final state printed once
    lines = s.getvalue().splitlines()
    assert p.mode == "lines" and lines[0].startswith("progress: 0/4") and lines[-1].startswith("progress: 4/4")
    assert len(lines) == 2 and "\r" not in s.getvalue()


def test_quiet_prints_nothing():
    s = Tty()
    p = ProgressReporter(stream=s, mode="quiet")
    p(0, 3)
    p(3, 3)
    p.close()
    assert s.getvalue() == ""


def test_rate_and_eta_count_only_this_sessions_trials():
    clock = FakeClock()
    p = ProgressReporter(stream=io.StringIO(), mode="lines", clock=clock)
    p(40, 100)  # 40 resumed from the journal
    clock.advance(5)
    assert p.rate(40) == 0.0
    text = p.text(40, 100)
    assert "40/100 trials (40%)" in text and "ETA ?" in text
    assert p.rate(50) == 2.0  # ten trials of this session in five seconds
