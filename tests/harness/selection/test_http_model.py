"""The chooser and the test writer through a real HTTP server on 127.0.0.1 (the project's fake
OpenAI-compatible server: its replies are not choices or tests, which is the case tested)."""

from harness.selection.choice import ModelChoice, ModelChooser
from harness.selection.http_model import ChatCompletion
from harness.selection.reproduction import ModelTestWriter
from tests.harness.models.fake_openai_server import FakeOpenAIServer
from tests.harness.selection.test_selectors import FIX, FIX_REFORMATTED, WRONG, pool


def test_a_reply_without_a_choice_falls_back_to_the_top_ranked_and_counts_tokens():
    with FakeOpenAIServer() as server:
        complete = ChatCompletion(server.start(), "m")
        p = pool(WRONG, FIX, FIX_REFORMATTED)
        record, cost = ModelChoice(ModelChooser(complete), top_k=2).apply(p, [0, 1, 2])
        assert record.kept == [1]  # the fix has 2 votes: ranked first
        assert "no valid answer" in record.notes[-1]
        assert cost.prompt_tokens > 0 and cost.completion_tokens > 0
        prompt = server.requests[-1].body["messages"][0]["content"]
        assert FIX in prompt and "votes: 2" in prompt and "FAIL_TO_PASS" not in prompt


def test_the_writer_keeps_only_replies_with_a_python_block():
    with FakeOpenAIServer() as server:
        tests, cost = ModelTestWriter(ChatCompletion(server.start(), "m")).write_tests(pool(FIX).instance, 3)
        assert tests == [] and cost.completion_tokens > 0 and len(server.requests) == 3


def test_a_reply_with_a_choice_is_followed():
    replies = iter(["I pick CHOICE: 2"])
    chooser = ModelChooser(lambda prompt, seed: (next(replies), 10, 3))
    record, _ = ModelChoice(chooser, top_k=3).apply(pool(WRONG, FIX, FIX_REFORMATTED), [0, 1, 2])
    assert record.kept == [0]  # option 2 is WRONG (option 1: the fix's class)


def test_a_failing_model_server_is_said_and_selection_goes_on(capsys):
    from harness.selection.reproduction import WRITER_PROMPT
    from tests.harness.models.fake_openai_server import Fault

    p = pool(WRONG, FIX, FIX_REFORMATTED)
    key = WRITER_PROMPT.format(repo=p.instance.repo, issue=p.instance.problem_statement)
    with FakeOpenAIServer() as server:
        complete = ChatCompletion(server.start({key: [Fault.http(500, times=1), Fault.malformed(times=1)]}), "m")
        tests, cost = ModelTestWriter(complete).write_tests(p.instance, 3)
        assert tests == [] and len(server.requests) == 3
        err = capsys.readouterr().err
        assert err.count("the selection model at") == 2 and "HTTPStatusError" in err
    complete = ChatCompletion("http://127.0.0.1:9/v1", "m", timeout_s=2)  # nothing listens there
    record, _ = ModelChoice(ModelChooser(complete), top_k=2).apply(p, [0, 1, 2])
    assert record.kept == [1] and "no valid answer" in record.notes[-1]
    assert "ConnectError" in capsys.readouterr().err
