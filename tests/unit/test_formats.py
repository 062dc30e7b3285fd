"""Training-file validation for the five formats: detection, per-format rules, one format per file."""

import io
import json

import pytest

from jobs.data.formats import (
    FORMAT_DESCRIPTIONS,
    FORMATS,
    MAX_REPORTED_PROBLEMS,
    check_jsonl,
    detect_format,
    human_bytes,
    read_lines,
)

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
PROMPT_COMPLETION = {"prompt": "The capital of France is", "completion": " Paris."}
TEXT = {"text": "Paris is the capital of France."}
CLASSIFICATION = {"text": "I loved it", "label": "positive"}
PREFERENCE = {
    "input": {"messages": [{"role": "user", "content": "Capital of France?"}], "tools": [], "parallel_tool_calls": True},
    "preferred_output": [{"role": "assistant", "content": "Paris."}],
    "non_preferred_output": [{"role": "assistant", "content": "Lyon."}],
}
ONE_OF_EACH = {
    "chat": CHAT,
    "prompt_completion": PROMPT_COMPLETION,
    "text": TEXT,
    "classification": CLASSIFICATION,
    "preference": PREFERENCE,
}


def lines(*examples) -> list[bytes]:
    return [json.dumps(example).encode() + b"\n" for example in examples]


def test_the_format_names_and_descriptions():
    assert FORMATS == ("chat", "prompt_completion", "text", "classification", "preference")
    assert set(FORMAT_DESCRIPTIONS) == set(FORMATS)


@pytest.mark.parametrize("format", FORMATS)
def test_each_format_is_detected_and_accepted(format):
    example = ONE_OF_EACH[format]
    assert detect_format(example) == format
    second = {**CLASSIFICATION, "label": "negative"} if format == "classification" else example
    check = check_jsonl(lines(example, second, example))
    assert check.ok, check.summary()
    assert check.format == format and check.n_examples == 3


def test_chat_may_carry_tools():
    check = check_jsonl(lines({**CHAT, "tools": [], "parallel_tool_calls": False}))
    assert check.ok, check.summary()


def test_a_line_of_another_format_is_reported_with_both_line_numbers():
    check = check_jsonl(lines(CHAT, CHAT, PROMPT_COMPLETION, CHAT))
    assert not check.ok and check.n_examples == 3 and check.format == "chat"
    assert check.problems == ["line 3: a prompt/completion example, but line 1 made this a chat file"]


def test_the_first_valid_line_decides_the_format():
    bad_chat = {"messages": [{"role": "user", "content": "no answer"}]}
    check = check_jsonl(lines(bad_chat, TEXT, CHAT))
    assert check.format == "text"
    assert check.problems == [
        "line 1: no assistant message to learn from",
        "line 3: a chat example, but line 2 made this a text file",
    ]


def test_expected_format_is_required_of_every_line():
    check = check_jsonl(lines(PREFERENCE, CHAT), expected_format="preference")
    assert check.problems == ["line 2: a chat example, but this job's method needs preference examples"]
    check = check_jsonl(lines(CHAT), expected_format="preference")
    assert check.problems == ["line 1: a chat example, but this job's method needs preference examples"]
    assert check_jsonl(lines(PREFERENCE), expected_format="preference").ok
    with pytest.raises(ValueError, match="unknown format"):
        check_jsonl(lines(CHAT), expected_format="dpo")


@pytest.mark.parametrize(
    ("example", "message"),
    [
        ({**PROMPT_COMPLETION, "weight": 1}, "line 1: unexpected key 'weight' in a prompt/completion example"),
        ({**CHAT, "prompt": "x"}, "line 1: unexpected key 'prompt' in a chat example"),
        ({**TEXT, "source": "wiki"}, "line 1: unexpected key 'source' in a text example"),
        ({**PREFERENCE, "id": 3}, "line 1: unexpected key 'id' in a preference example"),
    ],
)
def test_an_extra_key_is_named(example, message):
    check = check_jsonl(lines(example))
    assert not check.ok and check.problems[0].startswith(message)


def test_an_object_of_no_format_lists_the_accepted_shapes():
    check = check_jsonl(lines({"question": "x", "answer": "y"}, ["not", "an", "object"]))
    assert "line 1: not an example of any accepted format" in check.problems[0]
    for keys in ("messages", "prompt + completion", "text + label", "input + preferred_output + non_preferred_output"):
        assert keys in check.problems[0]
    assert check.problems[1] == "line 2: expected a JSON object"


@pytest.mark.parametrize(
    ("example", "message"),
    [
        ({"prompt": "x", "completion": ""}, "'completion' must not be empty"),
        ({"prompt": 3, "completion": "y"}, "'prompt' must be a string"),
        ({"text": "   "}, "'text' must not be empty"),
        ({"text": "x", "label": True}, "'label' must be a string or an integer"),
        ({"text": "x", "label": 1.5}, "'label' must be a string or an integer"),
        ({"text": "x", "label": ""}, "'label' must not be empty"),
        ({"text": "", "label": "a"}, "'text' must not be empty"),
    ],
)
def test_bad_values_are_reported(example, message):
    check = check_jsonl(lines(example))
    assert check.problems == [f"line 1: {message}"]


def test_classification_labels_are_counted_as_strings():
    check = check_jsonl(lines({"text": "a", "label": 1}, {"text": "b", "label": "1"}, {"text": "c", "label": 0}))
    assert check.ok and check.labels == {"1": 2, "0": 1}


def test_preference_outputs_must_differ():
    same = {**PREFERENCE, "non_preferred_output": PREFERENCE["preferred_output"]}
    check = check_jsonl(lines(same))
    assert check.problems == ["line 1: preferred_output and non_preferred_output are the same; there is no preference to learn"]


def test_a_preference_prompt_must_not_end_with_the_assistant():
    messages = PREFERENCE["input"]["messages"] + [{"role": "assistant", "content": "Paris."}]
    check = check_jsonl(lines({**PREFERENCE, "input": {"messages": messages}}))
    assert len(check.problems) == 1 and "input.messages ends with an assistant message" in check.problems[0]
    # An assistant turn inside the prompt is fine; it is context, not trained.
    messages += [{"role": "user", "content": "Sure?"}]
    assert check_jsonl(lines({**PREFERENCE, "input": {"messages": messages}})).ok


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        ([], "'preferred_output' must be a list of exactly one assistant message"),
        ([{"role": "user", "content": "x"}], "'preferred_output'[0] must be a message with role 'assistant'"),
        ([{"role": "assistant", "content": None}], "'preferred_output'[0].content must be a string"),
    ],
)
def test_preference_outputs_are_one_assistant_message(outputs, message):
    check = check_jsonl(lines({**PREFERENCE, "preferred_output": outputs}))
    assert check.problems == [f"line 1: {message}"]


def test_preference_prompt_messages_follow_the_chat_rules():
    check = check_jsonl(lines({**PREFERENCE, "input": {"messages": [{"role": "robot", "content": "x"}]}}))
    assert check.problems == ["line 1: input.messages[0].role must be one of system, user, assistant, got 'robot'"]


def test_problems_are_capped_but_counted_and_empty_files_have_no_format():
    check = check_jsonl(lines(*[{"text": ""}] * (MAX_REPORTED_PROBLEMS + 5)))
    assert len(check.problems) == MAX_REPORTED_PROBLEMS and check.n_problems == MAX_REPORTED_PROBLEMS + 5
    assert check.summary().endswith("; and 5 more problems")
    empty = check_jsonl([b"\n", b"  \n"])
    assert not empty.ok and empty.format is None and empty.summary() == "the file has no examples"


# Strict JSON of UTF-8 text: what the parser alone would let through, or fail on, is reported with its line.

@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"[" * 100_000, "not valid JSON (nested too deeply)"),
        (b'{"text": "a", "label": ' + b"1" * 5000 + b"}", "an integer of 5000 digits is too long to read"),
        (b'{"text": NaN}', "NaN is not a JSON number (JSON has no NaN or Infinity)"),
        (b'{"text": "a", "label": -Infinity}', "-Infinity is not a JSON number (JSON has no NaN or Infinity)"),
        (b'{"text": "a", "label": 1e999}', "the number 1e999 is too large for a 64-bit float"),
        (b'{"text": "a", "text": "b"}', "the key 'text' appears twice in one object"),
        (b'\xef\xbb\xbf{"text": "a"}', "starts with a byte order mark (BOM); save the file as UTF-8 without a BOM"),
        (b'{"text": "caf\xe9"}', "not UTF-8 text (the byte 0xe9 at position 14); save the file as UTF-8"),
        (b'{"text": "a"}\r{"text": "b"}\r', r"not valid JSON (Extra data at column 15); lines must end with \n or \r\n, and a lone \r does not end a line"),
        (b'{"text": "a\x00"}', "not valid JSON (Invalid control character at column 12)"),
        (b'{"text": "a\\ud800"}', "text contains a lone surrogate (U+D800), which is not Unicode text and cannot be encoded as UTF-8"),
        (b'{"text": "a\\u0000"}', "text contains U+0000 (NUL), which is not text"),
        (json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "\udc00"}]}).encode(),
         "messages[1].content contains a lone surrogate (U+DC00)"),
        (json.dumps({**PREFERENCE, "preferred_output": [{"role": "assistant", "content": "\ud83d"}]}).encode(),
         "preferred_output[0].content contains a lone surrogate (U+D83D)"),
        (json.dumps({"text": "a", "label": "\x00"}).encode(), "label contains U+0000 (NUL)"),
        (json.dumps({"text": "a", "bad key": ["\ud800"]}).encode(), "['bad key'][0] contains a lone surrogate"),
        (json.dumps({"text\ud800": "a"}).encode(), "a key in the object contains a lone surrogate"),
    ],
)
def test_what_strict_json_of_text_rules_out_is_named(raw, message):
    check = check_jsonl([b'{"text": "fine"}\n', raw + b"\n"])
    assert check.problems[0].startswith(f"line 2: {message}"), check.problems


def test_escaped_text_that_is_valid_unicode_passes():
    check = check_jsonl([b'{"text": "\\ud83d\\ude00 caf\\u00e9 \\t tab"}\n', "{\"text\": \"café\"}\r\n".encode()])
    assert check.ok, check.summary()


def test_a_line_over_the_limit_is_reported_and_its_neighbours_keep_their_numbers():
    fits = b'{"text": "' + b"x" * 87 + b'"}\n'  # 100 bytes, the line break included
    too_long = b'{"text": "' + b"x" * 88 + b'"}\n'
    check = check_jsonl(io.BytesIO(fits + too_long + b"{oops\n" + fits), max_line_bytes=100)
    assert check.problems == [
        "line 2: longer than the limit of 100 bytes (100 bytes) per line",
        "line 3: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
    ]
    assert check.n_examples == 2


class RecordingFile(io.BytesIO):
    """Remembers the most bytes one readline was allowed to return."""

    largest_request = 0

    def readline(self, size=-1):
        assert size > 0, "an unbounded readline"
        self.largest_request = max(self.largest_request, size)
        return super().readline(size)


def test_reading_lines_never_holds_more_than_the_limit():
    huge_line = b"[" + b"1," * 5_000_000 + b"1]\n"  # 10 MB, one line
    f = RecordingFile(b'{"text": "a"}\n' + huge_line + b'{"text": "b"}')
    lines = list(read_lines(f, max_line_bytes=1000))
    assert f.largest_request == 1001
    assert [len(line) for line in lines] == [14, 1001, 13]  # the long line cut short, the rest dropped


def test_human_bytes():
    assert [human_bytes(n) for n in (0, 1023, 1024, 8 * 1024 * 1024, 1536 * 1024 * 1024)] == [
        "0 bytes", "1023 bytes", "1.0 KiB", "8.0 MiB", "1.5 GiB",
    ]


def test_a_file_broken_only_by_lone_carriage_returns_is_told_so_even_as_one_overlong_line():
    check = check_jsonl(io.BytesIO(b'{"text": "a"}\r' * 20), max_line_bytes=100)
    assert check.problems == [
        r"line 1: longer than the limit of 100 bytes (100 bytes) per line; lines must end with \n or \r\n, and a lone \r does not end a line"
    ]
