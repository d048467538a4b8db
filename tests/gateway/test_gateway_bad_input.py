"""Bad requests: each a 4xx in OpenAI's error format, and no usage row written."""

from __future__ import annotations

import openai
import pytest
import requests

from tests.gateway.conftest import usage_rows

OPENAI_ERROR_KEYS = {"message", "type", "param", "code"}


def _post(live_server, raw, *, data=None, json=None, headers=None):
    headers = {"Authorization": f"Bearer {raw}", **(headers or {})}
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    return requests.post(live_server.v1 + "/chat/completions", data=data, json=json,
                         headers=headers, timeout=20)


@pytest.mark.parametrize(("body", "status", "param", "fragment"), [
    (b"{not json", 400, None, "not valid JSON"),
    (b"", 400, None, "body is empty"),
    (b"[1, 2]", 400, None, "must be a JSON object"),
    (b'{"model": "sim"}', 400, "messages", "Missing required parameter: `messages`"),
    (b'{"messages": [{"role": "user", "content": "hi"}]}', 400, "model", "`model`"),
    (b'{"model": 7, "messages": [{"role": "user", "content": "hi"}]}', 400, "model",
     "must be a string"),
    (b'{"model": "sim", "messages": "hi"}', 400, "messages", "must be an array"),
    (b'{"model": "sim", "messages": []}', 400, "messages", "is empty"),
    (b'{"model": "sim", "messages": [{"role": "robot", "content": "hi"}]}', 400,
     "messages[0].role", "must be one of"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": 5}]}', 400,
     "messages[0].content", "must be a string"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}',
     400, "temperature", "must be a number"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": "hi"}], "temperature": 9}',
     400, "temperature", "between 0 and 2"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}',
     400, "max_tokens", "at least 1"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}',
     400, "stream", "true or false"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": "hi"}], "n": 3}', 400, "n",
     "must be 1"),
    (b'{"model": "sim", "messages": [{"role": "user", "content": "hi"}], "tools": [{}]}', 400,
     "tools", "not supported"),
    (b'{"model": "nope", "messages": [{"role": "user", "content": "hi"}]}', 404, None,
     "does not exist"),
])
def test_bad_request_bodies(app, openai_provider, make_key, live_server, body, status, param,
                            fragment):
    _, raw = make_key()
    response = _post(live_server, raw, data=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == OPENAI_ERROR_KEYS
    assert fragment in error["message"]
    assert error["param"] == param
    assert usage_rows(app) == 0


def test_ten_megabyte_body_gets_a_clear_413(app, openai_provider, make_key, live_server):
    _, raw = make_key()
    big = b'{"model": "sim", "messages": [{"role": "user", "content": "' + b"x" * (10 * 1024 * 1024) + b'"}]}'
    response = _post(live_server, raw, data=big)
    assert response.status_code == 413
    error = response.json()["error"]
    assert set(error) == OPENAI_ERROR_KEYS and error["code"] == "request_too_large"
    assert "larger than" in error["message"]
    assert usage_rows(app) == 0


def test_bad_input_through_the_openai_client(app, openai_provider, make_key, openai_client):
    _, raw = make_key()
    client = openai_client(raw)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="sim", messages=[{"role": "user"}])
    assert caught.value.body["param"] == "messages[0].content"
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="unknown-provider/x", messages=[
            {"role": "user", "content": "hi"}])
    assert usage_rows(app) == 0


def test_missing_authorization_gets_401_before_the_body_is_read(live_server):
    response = requests.post(live_server.v1 + "/chat/completions", data=b"{oops", timeout=5)
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]["message"]
