"""Fetch the YuNet face detector into the model cache once, so that `detector: auto` uses it.

    ros2 run fer_ros fetch_models [--url URL] [--dest DIR] [--force] [--timeout S]
    python -m fer_ros.tools.fetch_models ...

Downloads face_detection_yunet_2023mar.onnx from the OpenCV model zoo into the cache folder
($FER_ROS_HOME, default ~/.cache/fer_ros), writing to a temporary file beside it, and moves it into
place only when its SHA-256 is the published one; a file with any other checksum is deleted.
A file already there and verified is not downloaded again (--force downloads it anyway).
fer_ros itself never downloads anything when it runs.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import sys
import tempfile
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from fer_ros.core.model_cache import YUNET_FILE, YUNET_SHA256, YUNET_URL, cache_dir, sha256_file

TIMEOUT_S = 30.0
# YuNet is 230 kB; a server that sends far more is not serving it (and must not fill the disk).
MAX_BYTES = 16 << 20
BLOCK = 1 << 16


class FetchError(Exception):
    """A download that did not give the verified file; the message says what to do."""


def manual_hint(path: Path) -> str:
    return (f"To get the file by hand, download\n  {YUNET_URL}\nand save it as\n  {path}\n"
            f"(e.g. `curl -L -o {path} {YUNET_URL}`); its SHA-256 must be {YUNET_SHA256}.")


def _download(url: str, out, timeout: float) -> str:
    """Copy ``url`` into the open file ``out``; returns the SHA-256 of what was received."""
    digest = hashlib.sha256()
    size = 0
    with urlopen(url, timeout=timeout) as response:
        for block in iter(lambda: response.read(BLOCK), b""):
            size += len(block)
            if size > MAX_BYTES:
                raise FetchError(f"{url} sent more than {MAX_BYTES >> 20} MiB, far more than "
                                 f"{YUNET_FILE} (230 kB); refused it, nothing was saved")
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def fetch(url: str = YUNET_URL, dest: Path | None = None, force: bool = False,
          timeout: float = TIMEOUT_S, log=print) -> Path:
    """Download YuNet from ``url`` into ``dest`` (default: the cache folder) unless the verified file
    is there already; returns its path. Raises FetchError, leaving no file behind, when the download
    fails or its checksum is not the published one."""
    dest = Path(dest) if dest is not None else cache_dir()
    path = dest / YUNET_FILE
    if path.is_file() and not force:
        if sha256_file(path) == YUNET_SHA256:
            log(f"{path} is already there and verified (SHA-256 {YUNET_SHA256}); nothing downloaded "
                "(--force downloads it again)")
            return path
        log(f"{path} is there but its SHA-256 is not the published one; downloading it again")
    try:
        dest.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{YUNET_FILE}.", suffix=".part", dir=dest)
    except OSError as error:
        raise FetchError(f"cannot write to {dest}: {error}. Choose another folder with --dest "
                         "(and point FER_ROS_HOME or yunet_model at it) or fix its permissions") from None
    tmp = Path(name)
    log(f"downloading {url}\n  into {path}")
    try:
        try:
            with os.fdopen(fd, "wb") as out:
                got = _download(url, out, timeout)
        except HTTPError as error:
            raise FetchError(f"the server answered HTTP {error.code} {error.reason} for {url}.\n"
                             + manual_hint(path)) from None
        except URLError as error:
            raise FetchError(f"cannot reach {url}: {error.reason} (no network here, or a firewall "
                             "or proxy in the way?).\n" + manual_hint(path)) from None
        except (OSError, http.client.HTTPException) as error:  # timeouts, resets, short reads
            raise FetchError(f"downloading {url} failed: {type(error).__name__} {error}.\n"
                             + manual_hint(path)) from None
        if got != YUNET_SHA256:
            raise FetchError(f"refused the file from {url}: its SHA-256 is\n  {got}\nnot the published\n"
                             f"  {YUNET_SHA256}\nso it is not YuNet 2023mar (or it was damaged on the way); "
                             "nothing was saved.\n" + manual_hint(path))
        os.chmod(tmp, 0o644)  # mkstemp made it private; a model file is for every user of the robot
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="ros2 run fer_ros fetch_models",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=YUNET_URL, help="where to download YuNet from (default: %(default)s)")
    parser.add_argument("--dest", type=Path, default=None,
                        help=f"folder to put {YUNET_FILE} in (default: $FER_ROS_HOME or ~/.cache/fer_ros, "
                             f"now {cache_dir()})")
    parser.add_argument("--force", action="store_true", help="download even when the verified file is there")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_S,
                        help="seconds to wait for the server on each step (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    try:
        path = fetch(args.url, args.dest, args.force, args.timeout)
    except FetchError as error:
        print(f"fetch_models: {error}", file=sys.stderr)
        return 1
    except ValueError as error:  # a --url urllib cannot parse
        print(f"fetch_models: bad --url {args.url!r}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fetch_models: interrupted, nothing was saved", file=sys.stderr)
        return 130
    print(f"YuNet is at {path} (SHA-256 verified).")
    if path.parent.resolve() == cache_dir().resolve():
        print("`detector: auto` (the default) will now use it.")
    else:
        print(f"`detector: auto` looks in {cache_dir()}: use it with FER_ROS_HOME={path.parent} "
              f"or -p yunet_model:={path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
