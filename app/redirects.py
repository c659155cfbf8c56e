"""Where a page may send someone after login or sign-up: a path on this site, else "/".

The same rule runs in static/js/next.js. Browsers strip TAB, CR and LF from URLs and read
a backslash as a slash, so "/\\t/evil.example" or "/\\\\evil.example" leave the site once the
browser has cleaned them; we therefore accept only printable ASCII, and check the value
again once percent-decoded, because some proxies and frameworks decode before redirecting.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urljoin, urlsplit

HOME = "/"
MAX_LENGTH = 500
# "/" then printable ASCII without backslash; the second character is neither "/" nor "\".
_PATH = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]*")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DECODED_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_PROBE = "http://origin.invalid"


def safe_next(raw: object) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_LENGTH:
        return HOME
    if not _PATH.fullmatch(raw) or _BAD_ESCAPE.search(raw):
        return HOME
    decoded = raw
    for _ in range(4):  # "%252f" is "%2f" once decoded, "/" twice
        try:
            once = unquote(decoded, errors="strict")
        except UnicodeDecodeError:
            return HOME
        if once == decoded:
            break
        decoded = once
    else:
        return HOME
    if decoded.startswith("//") or _DECODED_BAD.search(decoded) or _BAD_ESCAPE.search(decoded):
        return HOME
    # Belt and braces: resolved against an origin, it must stay on that origin.
    resolved = urlsplit(urljoin(_PROBE + "/", raw))
    if f"{resolved.scheme}://{resolved.netloc}" != _PROBE:
        return HOME
    return raw
