"""POST /v1/files against oversized, malformed and hostile input, on both store back-ends.

Whatever is sent, the answer is a 4xx naming the problem (and its line, for a line's problem), never a
5xx, and nothing is stored. Limits are small here (1 MiB a file, 64 KiB a line) to keep the tests fast.
"""

import gzip
import json

import pytest

from tests.conftest import ALPHA
from tests.integration.test_api import CHAT, jsonl, store_of, upload

LIMIT = 1024 * 1024
LINE_LIMIT = 64 * 1024
GOOD = jsonl(CHAT)


@pytest.fixture
def api(settings):
    from litestar.testing import TestClient

    from service.app import create_app

    small = settings.model_copy(update={"max_upload_bytes": LIMIT, "max_line_bytes": LINE_LIMIT})
    with TestClient(create_app(small)) as client:
        yield client


def text_file(size: int) -> bytes:
    """Valid text examples of exactly `size` bytes in all, each line well under LINE_LIMIT."""
    def line(n: int) -> bytes:
        return b'{"text": "' + b"x" * (n - 13) + b'"}\n'

    full, rest = divmod(size, 32 * 1024)
    return line(32 * 1024) * (full - 1) + line(32 * 1024 + rest)


def assert_nothing_stored(api) -> None:
    assert list(store_of(api).list_keys("alpha/")) == []
    assert api.get("/v1/files", headers=ALPHA).json()["data"] == []


def test_a_file_of_exactly_the_limit_is_accepted(api):
    body = text_file(LIMIT)
    r = upload(api, body)
    assert r.status_code == 200, r.text
    assert r.json()["bytes"] == LIMIT
    assert api.get(f"/v1/files/{r.json()['id']}/content", headers=ALPHA).content == body


# LIMIT + 1 and the 1,108,764 bytes that once passed are caught while the file is read; 2 MiB by the
# request's own limit before that. The message is the same.
@pytest.mark.parametrize("size", [LIMIT + 1, 1_108_764, 2 * LIMIT])
def test_a_file_over_the_limit_is_413_stating_the_limit(api, size):
    r = upload(api, text_file(size))
    assert r.status_code == 413
    error = r.json()["error"]
    assert "1048576 bytes (1.0 MiB)" in error["message"] and "split it" in error["message"]
    assert error["code"] == "file_too_large" and error["param"] == "file"
    assert_nothing_stored(api)


def test_a_line_of_exactly_the_line_limit_is_accepted(api):
    line = b'{"text": "' + b"x" * (LINE_LIMIT - 13) + b'"}\n'
    assert len(line) == LINE_LIMIT
    r = upload(api, line + line)
    assert r.status_code == 200, r.text


def test_lines_after_an_overlong_line_keep_their_numbers(api):
    long_line = b'{"text": "' + b"x" * (3 * LINE_LIMIT) + b'"}\n'
    r = upload(api, GOOD + long_line + b"{oops\n" + GOOD)
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "line 2: longer than the limit of 65536 bytes (64.0 KiB) per line" in message
    assert "line 3: not valid JSON" in message
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("name", "stored"),
    [("../../etc/train.jsonl", "train.jsonl"), ("C:\\fakepath\\train.jsonl", "train.jsonl"), ("données.jsonl", "données.jsonl")],
)
def test_the_stored_filename_is_the_last_part_of_a_path(api, name, stored):
    r = upload(api, GOOD, name=name)
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == stored


def test_an_upload_without_a_key_is_refused_before_its_body_is_read(api):
    r = api.post("/v1/files", content=b"not a form", headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 401


# The malformed-upload corpus: each case sends something wrong and names what the message must say.

def file_of(content: bytes, name: str = "train.jsonl"):
    return lambda api: upload(api, content, name=name)


def line_2(bad: bytes):
    """A chat file whose second line is `bad`."""
    return file_of(GOOD + bad + b"\n" + GOOD)


def chat_line_2(messages: list) -> bytes:
    return json.dumps({"messages": messages}).encode()


BOUNDARY = "ftaas-test-boundary"
PURPOSE_PART = b'Content-Disposition: form-data; name="purpose"\r\n\r\nfine-tune'


def file_part(filename: bytes, content: bytes = GOOD) -> bytes:
    return b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"\r\n\r\n' + content


def raw_form(*parts: bytes, close: bool = True):
    """A multipart body put together by hand, for what an HTTP client would not send."""
    delimiter = b"--" + BOUNDARY.encode()
    body = b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + (delimiter + b"--\r\n" if close else b"")
    headers = {**ALPHA, "content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    return lambda api: api.post("/v1/files", content=body, headers=headers)


def form(files: dict, data: dict | None = None):
    return lambda api: api.post("/v1/files", files=files, data=data or {}, headers=ALPHA)


SURROGATE = "\ud800"
CORPUS = [
    # (send, status, what the message says, the line it names or None)
    pytest.param(line_2(b"{not json"), 400, "not valid JSON", 2, id="not-json"),
    pytest.param(line_2(b'{"messages": ['), 400, "not valid JSON", 2, id="truncated-json"),
    pytest.param(line_2(GOOD.strip() + b" x"), 400, "not valid JSON (Extra data", 2, id="trailing-garbage"),
    pytest.param(line_2(GOOD.strip() * 2), 400, "not valid JSON (Extra data", 2, id="two-objects-on-a-line"),
    pytest.param(line_2(b"[" * 60_000), 400, "nested too deeply", 2, id="nested-60000-deep"),  # 100,000: test_formats
    pytest.param(line_2(b'{"text": "a", "label": ' + b"7" * 5000 + b"}"), 400, "an integer of 5000 digits", 2, id="5000-digit-integer"),
    pytest.param(line_2(b'{"text": "a", "label": 1e999}'), 400, "too large for a 64-bit float", 2, id="huge-float"),
    pytest.param(line_2(b'{"text": NaN}'), 400, "NaN is not a JSON number", 2, id="nan"),
    pytest.param(line_2(b'{"text": "a", "label": Infinity}'), 400, "Infinity is not a JSON number", 2, id="infinity"),
    pytest.param(line_2(b'{"text": "a", "label": -Infinity}'), 400, "-Infinity is not a JSON number", 2, id="minus-infinity"),
    pytest.param(line_2(b'{"text": "caf\xe9"}'), 400, "not UTF-8 text (the byte 0xe9", 2, id="invalid-utf8"),
    pytest.param(line_2(b'{"text": "\xed\xa0\x80"}'), 400, "not UTF-8 text", 2, id="utf8-encoded-surrogate"),
    pytest.param(file_of(b"\xef\xbb\xbf" + GOOD), 400, "byte order mark", 1, id="bom"),
    pytest.param(file_of(("\ufeff" + GOOD.decode()).encode("utf-16-le")), 400, "not UTF-8 text", 1, id="utf16-file"),
    pytest.param(file_of(gzip.compress(GOOD * 20)), 400, "not UTF-8 text", 1, id="gzipped-file"),
    pytest.param(file_of(GOOD.strip() + b"\r" + GOOD.strip() + b"\r"), 400, r"a lone \r does not end a line", 1, id="cr-line-endings"),
    pytest.param(line_2(b'["a", "b"]'), 400, "expected a JSON object", 2, id="array"),
    pytest.param(line_2(b'"just text"'), 400, "expected a JSON object", 2, id="string"),
    pytest.param(line_2(b"42"), 400, "expected a JSON object", 2, id="number"),
    pytest.param(line_2(b"null"), 400, "expected a JSON object", 2, id="null"),
    pytest.param(line_2(b'{"messages": [], "messages": []}'), 400, "the key 'messages' appears twice", 2, id="duplicate-keys"),
    pytest.param(line_2(chat_line_2([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a" + SURROGATE}])),
                 400, "messages[1].content contains a lone surrogate (U+D800)", 2, id="surrogate-in-content"),
    pytest.param(line_2(chat_line_2([{"role": "user" + SURROGATE, "content": "hi"}, {"role": "assistant", "content": "a"}])),
                 400, "messages[0].role contains a lone surrogate", 2, id="surrogate-in-role"),
    pytest.param(line_2(json.dumps({"prompt": "\udfff", "completion": "x"}).encode()), 400, "prompt contains a lone surrogate (U+DFFF)", 2,
                 id="low-surrogate-in-prompt"),
    pytest.param(line_2(json.dumps({"messages" + SURROGATE: []}).encode()), 400, "a key in the object contains a lone surrogate", 2,
                 id="surrogate-in-key"),
    pytest.param(line_2(chat_line_2([{"role": "user", "content": "a\u0000b"}, {"role": "assistant", "content": "a"}])),
                 400, "messages[0].content contains U+0000 (NUL)", 2, id="nul-escape"),
    pytest.param(line_2(b'{"text": "a\x00b"}'), 400, "Invalid control character", 2, id="raw-nul-byte"),
    pytest.param(line_2(b'{"text": "a\x01b"}'), 400, "Invalid control character", 2, id="raw-control-character"),
    pytest.param(line_2(b'{"text": "' + b"x" * LINE_LIMIT + b'"}'), 400, "longer than the limit of 65536 bytes (64.0 KiB) per line", 2,
                 id="line-too-long"),
    pytest.param(line_2(b'{"question": "x", "answer": "y"}'), 400, "not an example of any accepted format", 2, id="unknown-keys"),
    pytest.param(line_2(b'{"prompt": "x", "completion": "y"}'), 400, "a prompt/completion example, but line 1 made this a chat file", 2,
                 id="another-format"),
    pytest.param(line_2(chat_line_2([{"role": "user", "content": "hi"}])), 400, "no assistant message to learn from", 2, id="no-assistant"),
    pytest.param(line_2(chat_line_2([])), 400, "expected a non-empty 'messages' list", 2, id="no-messages"),
    pytest.param(line_2(chat_line_2([{"role": "robot", "content": "x"}])), 400, "role must be one of", 2, id="unknown-role"),
    pytest.param(line_2(chat_line_2([{"role": "user", "content": 3}])), 400, "content must be a string", 2, id="content-not-a-string"),
    pytest.param(file_of(b""), 400, "no examples", None, id="empty-file"),
    pytest.param(file_of(b"\n \n\r\n"), 400, "no examples", None, id="blank-lines-only"),
    pytest.param(file_of(text_file(LIMIT + 1)), 413, "1048576 bytes (1.0 MiB)", None, id="file-too-large"),
    # the request around the file
    pytest.param(form({"purpose": (None, b"fine-tune")}), 400, "the 'file' part is missing", None, id="no-file-part"),
    pytest.param(form({"file": ("train.jsonl", GOOD)}), 400, "the 'purpose' part is missing", None, id="no-purpose"),
    pytest.param(lambda api: upload(api, GOOD, purpose="assistants"), 400, "purpose must be one of: fine-tune", None, id="wrong-purpose"),
    pytest.param(form({"file": ("", GOOD)}, {"purpose": "fine-tune"}), 400, "the 'file' part is not a file (it has no filename)", None,
                 id="empty-filename"),
    pytest.param(raw_form(PURPOSE_PART, b'Content-Disposition: form-data; name="file"; filename=""\r\n\r\n\xff\xfe'),
                 400, "could not be read as text", None, id="empty-filename-binary-content"),
    pytest.param(form([("file", ("a.jsonl", GOOD)), ("file", ("b.jsonl", GOOD))], {"purpose": "fine-tune"}), 400,
                 "the 'file' part is sent 2 times", None, id="two-files"),
    pytest.param(file_of(GOOD, name="data/"), 400, "the filename names no file", None, id="filename-a-folder"),
    pytest.param(file_of(GOOD, name="train\x7f.jsonl"), 400, "U+007F, a control character", None, id="filename-control-character"),
    pytest.param(raw_form(PURPOSE_PART, file_part(b"train\x1b[31m.jsonl")), 400, "U+001B, a control character", None,
                 id="filename-escape-sequence"),
    pytest.param(file_of(GOOD, name="x" * 994 + ".jsonl"), 400, "the filename is 1000 characters long", None, id="filename-1000-chars"),
    pytest.param(raw_form(b'Content-Disposition: form-data; name="purpose"\r\n\r\nfine-\xff', file_part(b"train.jsonl")), 400,
                 "could not be read as text", None, id="purpose-not-utf8"),
    pytest.param(raw_form(b'Content-Disposition: form-data; name="purpose"\r\nContent-Type: text/plain; charset=klingon\r\n\r\nfine-tune',
                          file_part(b"train.jsonl")), 400, "could not be read as text", None, id="unknown-charset"),
    pytest.param(raw_form(PURPOSE_PART, file_part(b"train.jsonl"), close=False), 400, "not a readable form", None, id="unterminated-form"),
    pytest.param(lambda api: api.post("/v1/files", json={"purpose": "fine-tune", "file": "x"}, headers=ALPHA), 400,
                 "the body is application/json", None, id="json-body"),
    pytest.param(lambda api: api.post("/v1/files", headers=ALPHA), 400, "the body is missing", None, id="no-body"),
]


@pytest.mark.parametrize(("send", "status", "says", "line"), CORPUS)
def test_a_malformed_upload_is_a_4xx_naming_the_problem_and_stores_nothing(api, send, status, says, line):
    r = send(api)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert says in error["message"], error["message"]
    if line is not None:
        assert f"is not a valid fine-tuning file: line {line}: " in error["message"], error["message"]
    assert_nothing_stored(api)
