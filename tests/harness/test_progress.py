from harness.progress import ProgressBar, StageBars


def test_a_bar_off_a_terminal_prints_its_start_and_end_and_not_every_step(capsys):
    with ProgressBar("sampling", 100) as bar:
        for _ in range(100):
            bar.advance()
    assert capsys.readouterr().err.splitlines() == ["sampling: 0/100", "sampling: 100/100"]


def test_stage_bars_grow_the_verifying_total_as_candidates_are_queued(capsys):
    with StageBars(4) as bars:
        bars.sampled(2)
        bars.queued(2)
        bars.verified(1)
    assert capsys.readouterr().err.splitlines() == ["sampling: 0/4, verifying: 0/0", "sampling: 2/4, verifying: 1/2"]


def test_disabled_displays_print_nothing(capsys):
    with ProgressBar("x", 3, enabled=False) as bar, StageBars(3, enabled=False) as bars:
        bar.advance()
        bars.sampled()
    assert capsys.readouterr().err == ""
