"""Static assets read at startup: hashed URLs that follow the module graph, and the rules of
the compression middleware (negotiation, streams) on small real ASGI apps."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import brotli
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from app.assets import Assets
from app.compression import Compress, choose_encoding


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


MODULES = {
    "js/page.js": 'import { a } from "./a.js";\nimport {\n  b,\n  c,\n} from "./lib/b.js";\nexport { d } from "./d.js";\nconst e = await import("./e.js");\n',
    "js/a.js": 'import { b } from "./lib/b.js";\nexport const a = "./not-an-import.js";\n',
    "js/lib/b.js": 'import { x } from "../x.js";\nexport const b = 1, c = 2;\n',
    "js/x.js": "export const x = 1;\n",
    "js/d.js": "export const d = 1;\n",
    "js/e.js": "export const e = 1;\n",
    "css/site.css": "body { margin: 0; }\n",
}


def test_the_hash_of_a_module_covers_what_it_imports(tmp_path: Path) -> None:
    write(tmp_path, MODULES)
    before = Assets(tmp_path)
    page = before.files["js/page.js"].body.decode()
    # Every relative import names the hashed URL, over several lines or dynamic.
    assert f'"./a.js?v={before.files["js/a.js"].digest}"' in page
    assert f'"./lib/b.js?v={before.files["js/lib/b.js"].digest}"' in page
    assert f'"./d.js?v={before.files["js/d.js"].digest}"' in page
    assert f'import("./e.js?v={before.files["js/e.js"].digest}")' in page
    assert '"./not-an-import.js"' in before.files["js/a.js"].body.decode()
    assert f'"../x.js?v={before.files["js/x.js"].digest}"' in before.files["js/lib/b.js"].body.decode()
    # The preload list: static imports only (the dynamic one loads when asked), dependencies first.
    graph = [u.split("?")[0] for u in before.module_graph(["js/page.js"])]
    assert graph == ["/static/js/x.js", "/static/js/lib/b.js", "/static/js/a.js", "/static/js/d.js"]

    # A change deep in the graph reaches every URL above it, and no other.
    (tmp_path / "js/x.js").write_text("export const x = 2;\n")
    after = Assets(tmp_path)
    changed = {p for p in before.files if before.url(p) != after.url(p)}
    assert changed == {"js/x.js", "js/lib/b.js", "js/a.js", "js/page.js"}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.js": 'import "./b.js";', "b.js": 'import "./a.js";'}, "import cycle"),
        ({"a.js": 'import "./missing.js";'}, "not in the static folder"),
        ({"a.js": 'import "../../etc/passwd.js";'}, "leaves the static folder"),
    ],
)
def test_a_broken_module_graph_stops_the_start(tmp_path: Path, files: dict[str, str], message: str) -> None:
    write(tmp_path, files)
    with pytest.raises(ValueError, match=message):
        Assets(tmp_path)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("identity", None),
        ("gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br, zstd", "br"),
        ("br;q=0.2, gzip;q=0.8", "gzip"),
        ("BR;Q=1", "br"),
        ("*", "br"),
        ("*;q=0, gzip", "gzip"),
        ("br;q=0, gzip;q=0", None),
        ("gzip;q=nonsense, br", "br"),
    ],
)
def test_encoding_negotiation(header: str, expected: str | None) -> None:
    assert choose_encoding(header) == expected


CHUNKS = [b"<p>" + f"ligne {i} ".encode() * 50 + b"</p>\n" for i in range(5)]


async def streaming(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"etag", b'"x"')],
        }
    )
    for i, chunk in enumerate(CHUNKS):
        await send({"type": "http.response.body", "body": chunk, "more_body": i < len(CHUNKS) - 1})


@pytest.mark.parametrize("encoding", ["gzip", "br"])
async def test_a_stream_is_compressed_chunk_by_chunk(encoding: str) -> None:
    sent: list[bytes] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        async def spy(message: dict[str, object]) -> None:
            if message["type"] == "http.response.body":
                sent.append(bytes(message["body"]))  # type: ignore[arg-type]
            await send(message)

        await Compress(streaming)(scope, receive, spy)

    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    async with client, client.stream("GET", "/", headers={"Accept-Encoding": encoding}) as r:
        raw = b"".join([c async for c in r.aiter_raw()])
    assert r.headers["content-encoding"] == encoding and "content-length" not in r.headers
    assert r.headers["etag"] == 'W/"x"' and r.headers["vary"] == "Accept-Encoding"
    whole = gzip.decompress(raw) if encoding == "gzip" else brotli.decompress(raw)
    assert whole == b"".join(CHUNKS)
    # Each chunk went out when it came, flushed: the first one alone decodes to the first chunk.
    assert len(sent) == len(CHUNKS)
    if encoding == "gzip":
        assert zlib.decompressobj(31).decompress(sent[0]) == CHUNKS[0]
    else:
        assert brotli.Decompressor().process(sent[0]) == CHUNKS[0]
