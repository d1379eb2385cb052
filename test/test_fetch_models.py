"""fetch_models against a local HTTP server on 127.0.0.1: the real YuNet file (from ../shared) and a
corrupted copy. The real URL is never contacted."""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fer_ros.core.model_cache import YUNET_FILE, YUNET_SHA256, YUNET_URL, cached_yunet, sha256_file
from fer_ros.tools.fetch_models import main

PROXIES = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


class Server:
    """Serves ``root`` on 127.0.0.1 at a free port and records the paths asked for."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[str] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache folder (not created yet) as FER_ROS_HOME, and no proxy between us and 127.0.0.1."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "cache"
    monkeypatch.setenv("FER_ROS_HOME", str(home))
    return home


@pytest.fixture
def server(tmp_path, yunet_model):
    root = tmp_path / "www"
    root.mkdir()
    shutil.copyfile(yunet_model, root / "good.onnx")
    data = bytearray((root / "good.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (root / "bad.onnx").write_bytes(data)
    served = Server(root)
    yield served
    served.close()


def test_a_good_download_lands_in_the_cache(cache, server, capsys):
    assert main(["--url", f"{server.url}/good.onnx"]) == 0
    assert cached_yunet() == cache / YUNET_FILE
    assert sorted(p.name for p in cache.iterdir()) == [YUNET_FILE]  # no temporary file left
    assert (cache / YUNET_FILE).stat().st_mode & 0o777 == 0o644
    out = capsys.readouterr().out
    assert str(cache / YUNET_FILE) in out and "`detector: auto` (the default) will now use it" in out


def test_a_corrupted_file_is_refused_and_nothing_is_left(cache, server, capsys):
    assert main(["--url", f"{server.url}/bad.onnx"]) == 1
    assert cached_yunet() is None
    assert list(cache.iterdir()) == []
    err = capsys.readouterr().err
    assert "refused" in err and YUNET_SHA256 in err and sha256_file(server.root / "bad.onnx") in err


def test_an_already_cached_file_is_not_downloaded_again(cache, server, yunet_model, capsys):
    cache.mkdir()
    shutil.copyfile(yunet_model, cache / YUNET_FILE)
    assert main(["--url", f"{server.url}/good.onnx"]) == 0
    assert server.requests == []
    assert "already there and verified" in capsys.readouterr().out
    assert main(["--url", f"{server.url}/good.onnx", "--force"]) == 0
    assert server.requests == ["/good.onnx"]
    assert cached_yunet() == cache / YUNET_FILE


def test_a_corrupted_cached_file_is_replaced(cache, server):
    cache.mkdir()
    (cache / YUNET_FILE).write_bytes(b"not an onnx file")
    assert cached_yunet() is None
    assert main(["--url", f"{server.url}/good.onnx"]) == 0
    assert cached_yunet() == cache / YUNET_FILE


def test_a_closed_port_gives_a_clear_message_and_exit_1(cache):
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/{YUNET_FILE}"
        done = subprocess.run([sys.executable, "-m", "fer_ros.tools.fetch_models", "--url", url,
                               "--timeout", "5"], capture_output=True, text=True, timeout=60,
                              env=os.environ.copy())
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot reach {url}" in done.stderr and "refused" in done.stderr
    assert YUNET_URL in done.stderr and str(cache / YUNET_FILE) in done.stderr  # how to do it by hand
    assert not cache.exists() or list(cache.iterdir()) == []


def test_a_server_that_never_answers_times_out(cache, capsys):
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/{YUNET_FILE}"
        assert main(["--url", url, "--timeout", "0.5"]) == 1
    err = capsys.readouterr().err
    assert "timed out" in err and YUNET_URL in err
    assert list(cache.iterdir()) == []


def test_an_http_error_gives_a_clear_message(cache, server, capsys):
    assert main(["--url", f"{server.url}/missing.onnx"]) == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and YUNET_URL in err
    assert list(cache.iterdir()) == []
