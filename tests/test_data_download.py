"""The download path for real: pooch against a throwaway HTTP server on 127.0.0.1 serving a real scene file.

The only tests that let the data layer go to the network (a local socket): each turns the offline guard
off for itself and points the cache at its own temporary folder. The scene is the registered ``pusub``
(a 434 kB real file) with a test-only file entry whose URLs point at the local server: one answering
404, one sending a truncated body, one sending another file of the same size, one sending the file.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from hsibench.cli import main
from hsibench.data import SceneNotAvailableError, get_scene_source, storage
from hsibench.data.files import FileScene
from hsibench.data.registry import SCENES

SCENE = "pusub"


class _Server:
    """Serves ``content`` at /good, a 404 at /missing, half of it at /truncated (with the full length
    announced), the same length of other bytes at /wrong; remembers every requested path."""

    def __init__(self, content: bytes) -> None:
        self.content = content
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — the http.server API
                server.requests.append(self.path)
                if self.path == "/missing":
                    self.send_error(404, "Not Found")
                    return
                body = {"/good": server.content, "/truncated": server.content,
                        "/wrong": bytes(reversed(server.content))}.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path == "/truncated" else body)
                self.close_connection = True

            def log_message(self, *args) -> None:  # keep the test output clean
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@pytest.fixture
def real_file(real_data: Path) -> Path:
    path = real_data / get_scene_source(SCENE).cube_files[0].name
    if not path.is_file():
        pytest.skip(f"{path.name} is not in the mirror")
    return path


@pytest.fixture
def server(real_file: Path) -> Iterator[_Server]:
    running = _Server(real_file.read_bytes())
    running.thread.start()
    yield running
    running.httpd.shutdown()
    running.httpd.server_close()


@pytest.fixture
def online(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Network allowed (local only), no mirror, an empty cache of this test's own."""
    monkeypatch.delenv("HSIBENCH_OFFLINE", raising=False)
    monkeypatch.delenv("HSIBENCH_MIRROR", raising=False)
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    cache = tmp_path / "cache"
    monkeypatch.setenv("HSIBENCH_CACHE", str(cache))
    return cache


def _served_scene(server: _Server, *paths: str) -> FileScene:
    source: FileScene = get_scene_source(SCENE)
    remote = dataclasses.replace(source.cube_files[0], urls=tuple(server.url(path) for path in paths))
    return dataclasses.replace(source, cube_files=(remote,))


def _files_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def test_fetch_falls_back_url_by_url_and_keeps_only_the_verified_file(server: _Server, online: Path, real_file: Path,
                                                                      capsys) -> None:
    scene = _served_scene(server, "/missing", "/truncated", "/wrong", "/good")
    with SCENES.replaced(SCENE, scene):
        code = main(["data", "fetch", SCENE])
        output = capsys.readouterr().out
        assert code == 0, output
        cached = online / real_file.name
        assert f"{real_file.name} → {cached}" in output
        assert server.requests == ["/missing", "/truncated", "/wrong", "/good"]
        assert _files_in(online) == [cached]  # no partial, temporary or wrong file left behind
        assert storage.file_sha256(cached) == scene.cube_files[0].sha256
        assert cached.read_bytes() == real_file.read_bytes()

        loaded = scene.load()  # from the cache now, without another request
        assert loaded.cube.shape == (50, 50, 103) and loaded.cube.dtype == np.float32
        assert main(["data", "fetch", SCENE]) == 0
        assert len(server.requests) == 4


def test_every_url_failing_names_each_of_them_and_caches_nothing(server: _Server, online: Path, capsys) -> None:
    scene = _served_scene(server, "/missing", "/truncated", "/wrong")
    with SCENES.replaced(SCENE, scene):
        code = main(["data", "fetch", SCENE])
    output = capsys.readouterr().out
    assert code == 1 and "not fetched" in output
    for path in ("/missing", "/truncated", "/wrong"):
        assert f"reason: {server.url(path)}: " in output
    assert "404" in output and "sha256" in output.lower()
    assert scene.cube_files[0].sha256 in output
    assert _files_in(online) == []
    with pytest.raises(SceneNotAvailableError, match="could not be downloaded"):
        scene.load()


def test_a_truncated_download_is_never_kept(server: _Server, online: Path) -> None:
    scene = _served_scene(server, "/truncated")
    with pytest.raises(SceneNotAvailableError) as caught:
        storage.fetch(scene.cube_files[0], SCENE)
    assert server.url("/truncated") in str(caught.value)
    assert _files_in(online) == []
