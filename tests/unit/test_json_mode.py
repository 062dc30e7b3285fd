"""JSON mode's recogniser: what can still become one JSON object, character by character."""

import json

import pytest

from jobs.serving.json_mode import MAX_WHITESPACE_RUN, JsonPrefix

OBJECTS = [
    "{}",
    '{"a": 1}',
    '{"a": [1, 2.5e3, -0.1, 0, 1E-2, true, false, null, "x\\u00e9\\n\\"q\\""], "b": {"c": {}}, "d": []}',
    '{ "k" : "v" ,\n "w": [ ] }',
]
NOT_OBJECTS = ["[]", '"x"', "1", ' {"a": 1}', '{"a" 1}', '{"a": 01}', "{a: 1}", '{"a": .5}', '{"a": 1.}',
               '{"a": tru}', '{"a": 1,}', '{"a": [1,]}', '{"a": "\x01"}', '{"a": "\\x"}', '{"a": 1}}', '{"a": 1} ']


@pytest.mark.parametrize("text", OBJECTS)
def test_json_objects_are_accepted_whole_and_done(text):
    json.loads(text)  # the cases themselves are valid JSON
    state = JsonPrefix()
    assert state.feed_text(text) and state.done


@pytest.mark.parametrize("text", OBJECTS)
def test_every_prefix_of_an_object_can_go_on(text):
    for end in range(1, len(text)):
        state = JsonPrefix()
        assert state.feed_text(text[:end]) and not state.done, text[:end]


@pytest.mark.parametrize("text", NOT_OBJECTS)
def test_what_is_not_one_json_object_is_refused(text):
    state = JsonPrefix()
    assert not (state.feed_text(text) and state.done)


def test_whitespace_cannot_run_on_forever():
    state = JsonPrefix()
    assert state.feed_text("{" + " " * MAX_WHITESPACE_RUN)
    assert not state.copy().feed(" ")
    assert state.feed('"')
