"""Static files, read once at startup and served from memory.

Every URL a page writes carries the file's content hash (`/static/js/api.js?v=3f2a…`), so a
browser may keep it for a year: a changed file gets a new URL. ES modules import each other by
relative paths, which would escape the hash; their import specifiers are rewritten to the
hashed URLs, so a module's hash covers the modules it imports (a change deep in the graph
reaches the page's entry URL). The same import statements give each page its list of
`modulepreload` links. Compressible files are compressed once here, at the highest levels,
instead of on every request.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import brotli
from starlette.datastructures import Headers, QueryParams
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

from app.compression import choose_encoding, is_compressible

IMMUTABLE = "public, max-age=31536000, immutable"
# An unhashed or outdated URL (a bookmark, an old page still open): the current file, checked each time.
REVALIDATE = "no-cache"

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

# `import x from "./a.js"`, `import "./a.js"`, `export { x } from "./a.js"` (over several lines
# too) and `import("./a.js")`: only relative specifiers, the only kind our modules use.
_STATIC_IMPORT = re.compile(
    r"""(?m)^[ \t]*(?:import|export)\b[\w$\s{},*]*?(?:\bfrom\s*)?(?P<q>["'])(?P<spec>\.{1,2}/[^"'\n]+)(?P=q)"""
)
_DYNAMIC_IMPORT = re.compile(r"""\bimport\(\s*(?P<q>["'])(?P<spec>\.{1,2}/[^"'\n]+)(?P=q)\s*\)""")


@dataclass(frozen=True)
class Asset:
    path: str
    body: bytes
    media_type: str
    digest: str
    imports: tuple[str, ...] = ()
    encoded: dict[str, bytes] = field(default_factory=dict)

    def etag(self, encoding: str | None) -> str:
        return f'"{self.digest}-{encoding}"' if encoding else f'"{self.digest}"'


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:12]


def _resolve(importer: str, spec: str) -> str:
    parts: list[str] = []
    for part in (*PurePosixPath(importer).parent.parts, *PurePosixPath(spec).parts):
        if part == "..":
            if not parts:
                raise ValueError(f"{importer}: {spec} leaves the static folder")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _encodings(body: bytes, media_type: str) -> dict[str, bytes]:
    if not is_compressible(media_type):
        return {}
    found = {"br": brotli.compress(body, quality=11), "gzip": gzip.compress(body, compresslevel=9, mtime=0)}
    return {name: data for name, data in found.items() if len(data) < len(body)}


class Assets:
    """The static folder as an ASGI app (mounted at /static) and the URLs pages write to it."""

    def __init__(self, root: Path, prefix: str = "/static") -> None:
        self.root = root
        self.prefix = prefix
        self.files: dict[str, Asset] = {}
        sources = {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")
        }
        for path in sources:
            self._load(path, sources, ())

    # ------------------------------------------------------------------ loading

    def _load(self, path: str, sources: dict[str, bytes], chain: tuple[str, ...]) -> Asset:
        if path in self.files:
            return self.files[path]
        if path in chain:
            raise ValueError("import cycle between static modules: " + " → ".join((*chain, path)))
        body = sources[path]
        suffix = PurePosixPath(path).suffix
        media_type = MEDIA_TYPES.get(suffix, "application/octet-stream")
        imports: list[str] = []
        if suffix == ".js":
            text = body.decode()

            def hashed(match: re.Match[str], collect: bool) -> str:
                spec = match.group("spec")
                target = _resolve(path, spec.split("?")[0])
                if target not in sources:
                    raise ValueError(f"{path} imports {spec}, which is not in the static folder")
                dep = self._load(target, sources, (*chain, path))
                if collect and target not in imports:
                    imports.append(target)
                whole = match.group(0)
                start = match.start("spec") - match.start(0)
                end = match.end("spec") - match.start(0)
                return whole[:start] + f"{spec.split('?')[0]}?v={dep.digest}" + whole[end:]

            text = _STATIC_IMPORT.sub(lambda m: hashed(m, True), text)
            text = _DYNAMIC_IMPORT.sub(lambda m: hashed(m, False), text)
            body = text.encode()
        asset = Asset(
            path=path,
            body=body,
            media_type=media_type,
            digest=_digest(body),
            imports=tuple(imports),
            encoded=_encodings(body, media_type),
        )
        self.files[path] = asset
        return asset

    # ------------------------------------------------------------------ what templates write

    def url(self, path: str) -> str:
        """The hashed URL of a static file (`static_url("css/base.css")` in templates)."""
        key = path.lstrip("/")
        asset = self.files.get(key)
        if asset is None:
            raise KeyError(f"no static file {path!r}")
        return f"{self.prefix}/{key}?v={asset.digest}"

    def module_graph(self, entries: Iterable[str]) -> list[str]:
        """Every module the entries import, directly or not, dependencies first, without the
        entries themselves: what a page announces with `<link rel="modulepreload">`."""
        roots = [e.lstrip("/") for e in entries]
        order: list[str] = []

        def visit(path: str) -> None:
            for dep in self.files[path].imports:
                if dep not in order:
                    visit(dep)
                    order.append(dep)

        for root in roots:
            visit(root)
        return [self.url(p) for p in order if p not in roots]

    # ------------------------------------------------------------------ serving

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405)
        path = scope["path"]
        root_path = scope.get("root_path", "")
        if root_path and path.startswith(root_path + "/"):
            path = path[len(root_path) :]
        asset = self.files.get(path.lstrip("/"))
        if asset is None:
            raise HTTPException(404)
        request = Headers(scope=scope)
        version = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("v")
        encoding = choose_encoding(request.get("accept-encoding", ""), tuple(asset.encoded))
        body = asset.encoded[encoding] if encoding else asset.body
        etag = asset.etag(encoding)
        headers = [
            (b"content-type", asset.media_type.encode()),
            (b"cache-control", (IMMUTABLE if version == asset.digest else REVALIDATE).encode()),
            (b"etag", etag.encode()),
        ]
        if is_compressible(asset.media_type):
            headers.append((b"vary", b"Accept-Encoding"))
        if encoding:
            headers.append((b"content-encoding", encoding.encode()))
        if etag in {t.strip() for t in request.get("if-none-match", "").split(",")}:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
