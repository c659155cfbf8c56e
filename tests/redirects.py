"""Values of `next` after login or sign-up: the ones that must fall back to "/" and the
ones that must be kept as they are. Shared by the server tests and the page-script test."""

from __future__ import annotations

EVIL = "evil.example"

# Every C0 and C1 control, DEL, and the spaces a browser or a proxy may strip or fold.
CONTROLS = [chr(c) for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]]
SPACES = [" ", "\u00a0", "\u2028", "\u2029", "\u3000", "\ufeff", "\u200b"]


def hostile() -> list[str]:
    cases = [
        f"//{EVIL}",
        f"///{EVIL}",
        f"////{EVIL}",
        f"//{EVIL}/centre",
        f"/\\{EVIL}",
        f"\\\\{EVIL}",
        f"\\/{EVIL}",
        f"/\\/{EVIL}",
        f"/centre\\..\\..\\{EVIL}",
        f"/%2f{EVIL}",
        f"/%2F%2F{EVIL}",
        f"%2f%2f{EVIL}",
        f"/%2f%2f{EVIL}",
        f"/%5c{EVIL}",
        f"/%5C{EVIL}",
        f"/%252f%252f{EVIL}",
        f"/%25252f%25252f{EVIL}",
        f"/%09/{EVIL}",
        f"/%0a/{EVIL}",
        f"/%0d%0a/{EVIL}",
        f"/%00/{EVIL}",
        "/%zz",
        "/100%",
        "/%E9",
        f"https://{EVIL}",
        f"http://{EVIL}/",
        f"HTTPS://{EVIL}",
        f"https:{EVIL}",
        f"http:/{EVIL}",
        f"http:\\\\{EVIL}",
        f"ftp://{EVIL}",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(document.domain)",
        "javascript://%0aalert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        EVIL,
        f"{EVIL}/centre",
        "centre",
        "./centre",
        "../centre",
        "?next=/centre",
        "#centre",
        "",
        "/" + "a" * 600,
        f"/é/{EVIL}",
        f"/\u2215\u2215{EVIL}",
    ]
    for ch in CONTROLS:
        cases += [f"/{ch}/{EVIL}", f"{ch}//{EVIL}", f"//{ch}{EVIL}", f"/centre{ch}", f"{ch}/centre"]
    for sp in SPACES:
        cases += [f"{sp}//{EVIL}", f"{sp}/centre", f"/{sp}/{EVIL}", f"{sp}javascript:alert(1)"]
    return cases


KEPT = [
    "/",
    "/centre",
    "/centre/sessions/668",
    "/surveillance?session=668",
    "/surveillance?session=668&info=acces",
    "/centre#sessions",
    "/%C3%A9t%C3%A9",
    "/centre%20x",
    "/a%2fb",
    "/@evil.example",
    "/javascript:alert(1)",
    "/." + "/centre",
    "/" + "a" * 499,
]
