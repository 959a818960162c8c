"""PLAYGROUND_AUTH puts a shared demo behind a login; the health check stays open for Docker."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.fixtures_app import gradio_client, start_app, stop_app

pytestmark = pytest.mark.slow


def test_login_required_when_auth_is_set(tmp_path: Path) -> None:
    app = start_app(tmp_path, extra_env={"PLAYGROUND_AUTH": "demo:s3cret-pass"})
    try:
        assert httpx.get(app.url + "/healthz").status_code == 200
        with pytest.raises(Exception, match=r"(?i)auth|login|credentials"):
            gradio_client(app.url)
        client = gradio_client(app.url, auth=("demo", "s3cret-pass"))
        body, _, _ = client.predict("sandbox", "dashscope", "p", None, 5, "720P", "16:9", 1, True, True, False, "",
                                    api_name="/preview_text_to_video")
        assert '"wan2.7-t2v"' in body
        client.close()
        assert "s3cret-pass" not in app.logs()
    finally:
        stop_app(app)
