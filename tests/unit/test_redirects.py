"""The `next` rule after login or sign-up (app/redirects.py): a path on this site, else "/"."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from app.redirects import safe_next
from tests.redirects import KEPT, hostile


def _browser_like(value: str) -> str:
    """What a browser does before resolving: strip TAB/CR/LF and leading/trailing C0 and space,
    read backslashes as slashes."""
    cleaned = "".join(ch for ch in value if ch not in "\t\r\n").strip("".join(chr(c) for c in range(0x21)))
    return cleaned.replace("\\", "/")


@pytest.mark.parametrize("raw", hostile(), ids=repr)
def test_hostile_next_goes_home(raw: str) -> None:
    assert safe_next(raw) == "/"


@pytest.mark.parametrize("raw", KEPT, ids=repr)
def test_local_paths_are_kept(raw: str) -> None:
    assert safe_next(raw) == raw
    # Whatever a browser makes of the kept value, it stays on the origin.
    resolved = urlsplit(urljoin("https://app.example/", _browser_like(raw)))
    assert resolved.netloc == "app.example"


def test_what_is_kept_never_leaves_even_when_a_browser_cleans_it() -> None:
    for raw in [*hostile(), *KEPT]:
        kept = safe_next(raw)
        for form in (kept, _browser_like(kept)):
            assert urlsplit(urljoin("https://app.example/", form)).netloc == "app.example", (raw, kept)


@pytest.mark.parametrize("raw", [None, 3, ["/centre"], {"/": 1}])
def test_non_strings_go_home(raw: object) -> None:
    assert safe_next(raw) == "/"
