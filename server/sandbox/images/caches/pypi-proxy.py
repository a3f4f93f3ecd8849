"""The course's Python package index (http://pypi:3141/simple/, PEP 503), a caching proxy.

It serves the wheels seeded at image build (<root>: simple/ and files/) and, unless offline,
passes what it does not hold through to the upstream index (PyPI by default), keeping every
file it fetches in <cache>, so a package fetched once is there when the host goes offline.
Only the two configured upstream hosts are ever contacted, for index pages and package files:
it is not a general proxy. Standard library only.
"""
import argparse
import html
import os
import pathlib
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, default=3141)
parser.add_argument("--root", default="/srv/pypi")
parser.add_argument("--cache", default="/var/cache/pypi")
parser.add_argument("--simple-upstream", default=os.environ.get("PYPI_SIMPLE_UPSTREAM", "https://pypi.org/simple/"))
parser.add_argument("--files-upstream", default=os.environ.get("PYPI_FILES_UPSTREAM", "https://files.pythonhosted.org/"))
parser.add_argument("--offline", action="store_true", default=os.environ.get("PYPI_OFFLINE") == "1")
args = parser.parse_args()

root = pathlib.Path(args.root)
cache = pathlib.Path(args.cache)
files_upstream = args.files_upstream.rstrip("/") + "/"
project_name = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
safe_path = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/+-]*$")
max_file_bytes = 200 * 1024 * 1024


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch(url: str, timeout: float = 20) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "slipway-pypi-cache", "Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read(max_file_bytes + 1)


def upstream_page(project: str) -> str | None:
    """The upstream page of a project, its file links pointing back at /files/ here."""
    try:
        text = fetch(urllib.parse.urljoin(args.simple_upstream, project + "/")).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    links = []
    for tag, label in re.findall(r'(<a\s[^>]*>)([^<]*)</a>', text):
        found = re.search(r'href="([^"]+)"', tag)
        if not found:
            continue
        href = html.unescape(found.group(1))
        # pip skips files whose Requires-Python this Python does not meet: keep that.
        requires = re.search(r'data-requires-python="([^"]*)"', tag)
        extra = f' data-requires-python="{requires.group(1)}"' if requires else ''
        absolute = urllib.parse.urljoin(urllib.parse.urljoin(args.simple_upstream, project + "/"), href)
        if not absolute.startswith(files_upstream):
            continue
        local = "/files/" + absolute[len(files_upstream):]
        links.append(f'<a href="{html.escape(local)}"{extra}>{html.escape(label)}</a>')
    return "<!DOCTYPE html>\n<html><body>\n" + "\n".join(links) + "\n</body></html>\n"


class Handler(BaseHTTPRequestHandler):
    server_version = "slipway-pypi"

    def send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/simple", "/simple/"):
            return self.send(200, (root / "simple" / "index.html").read_bytes())
        match = re.fullmatch(r"/simple/([^/]+)/?", path)
        if match:
            return self.project(normalize(urllib.parse.unquote(match.group(1))))
        if path.startswith("/files/"):
            return self.file(urllib.parse.unquote(path[len("/files/"):]))
        self.send(404, b"not found\n", "text/plain")

    def project(self, project: str) -> None:
        if not project_name.match(project):
            return self.send(404, b"no such project\n", "text/plain")
        seeded = root / "simple" / project / "index.html"
        if seeded.is_file():
            return self.send(200, seeded.read_bytes())
        page = None if args.offline else upstream_page(project)
        if page is None:
            why = "the cache is offline" if args.offline else "the upstream index did not answer"
            return self.send(404, f"{project} is not in the course's package cache ({why})\n".encode(), "text/plain")
        self.send(200, page.encode())

    def file(self, relative: str) -> None:
        if not safe_path.match(relative) or ".." in relative.split("/"):
            return self.send(404, b"not found\n", "text/plain")
        for candidate in (root / "files" / relative, cache / relative):
            if candidate.is_file():
                return self.send_file(candidate)
        if args.offline:
            return self.send(404, b"not in the cache, and the cache is offline\n", "text/plain")
        target = cache / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        # Streamed aside and moved into place, so a half-written file is never served.
        handle = tempfile.NamedTemporaryFile(dir=target.parent, delete=False)
        try:
            request = urllib.request.Request(files_upstream + relative, headers={"User-Agent": "slipway-pypi-cache"})
            with urllib.request.urlopen(request, timeout=120) as response, handle:
                size = 0
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    if size > max_file_bytes:
                        raise ValueError("file too large")
                    handle.write(chunk)
            shutil.move(handle.name, target)
        except (urllib.error.URLError, OSError, ValueError):
            pathlib.Path(handle.name).unlink(missing_ok=True)
            return self.send(502, b"the upstream file server did not answer, or sent too much\n", "text/plain")
        self.send_file(target)

    def send_file(self, path: pathlib.Path) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        if self.command != "HEAD":
            with path.open("rb") as source:
                shutil.copyfileobj(source, self.wfile, 1 << 16)

    def log_message(self, format: str, *values: object) -> None:
        sys.stderr.write("pypi: " + (format % values) + "\n")


cache.mkdir(parents=True, exist_ok=True)
ThreadingHTTPServer(("0.0.0.0", args.port), Handler).serve_forever()
