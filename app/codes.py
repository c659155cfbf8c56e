"""Access codes (candidates) and session passwords (supervisors).

Alphabets leave out letters and digits that are easy to confuse when read aloud or
copied from a board (0/O, 1/I/L, 5/S, A/E vowels that could spell words).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

ACCESS_LETTERS = "BCDFGHJKMPQRTVWXY"
ACCESS_DIGITS = "2346789"
PASSWORD_ALPHABET = "2346789BCDFGHJKMPQRTVWXY"

_ACCESS_RE = re.compile(rf"^[{ACCESS_LETTERS}]{{4}}[{ACCESS_DIGITS}]{{2}}$")
# Seven characters after "C-" (24^7 ≈ 4.6 billion); sessions created before drew five.
PASSWORD_LENGTH = 7
_OLD_PASSWORD_LENGTH = 5
_PASSWORD_RE = re.compile(rf"^C-[{PASSWORD_ALPHABET}]{{{_OLD_PASSWORD_LENGTH}}}([{PASSWORD_ALPHABET}]{{2}})?$")


def new_access_code() -> str:
    letters = "".join(secrets.choice(ACCESS_LETTERS) for _ in range(4))
    digits = "".join(secrets.choice(ACCESS_DIGITS) for _ in range(2))
    return letters + digits


def new_supervisor_password() -> str:
    return "C-" + "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def is_access_code(value: str) -> bool:
    return bool(_ACCESS_RE.match(value))


def is_supervisor_password(value: str) -> bool:
    return bool(_PASSWORD_RE.match(value))


def normalise_access_code(typed: str) -> str:
    return re.sub(r"[\s-]", "", typed).upper()


def normalise_supervisor_password(typed: str) -> str:
    """The `C-` prefix is optional when typed; spaces and case do not matter."""
    compact = re.sub(r"\s", "", typed).upper()
    if compact.startswith("C-"):
        compact = compact[2:]
    elif compact.startswith("C") and len(compact) in (_OLD_PASSWORD_LENGTH + 1, PASSWORD_LENGTH + 1):
        compact = compact[1:]
    return "C-" + compact


def same(a: str, b: str) -> bool:
    """Constant-time comparison, so timing does not reveal how much of a code is right."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def fold(text: str) -> str:
    """Fold a name for matching and sorting: case, accents, hyphens, extra spaces,
    and invisible characters (zero-width, direction marks) do not count."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) and unicodedata.category(ch) not in {"Cf", "Cc"}
    )
    kept = re.sub(r"[-‐‑‒–—'’_.]", " ", kept.casefold())
    return " ".join(kept.split())


# Each folded half of an identity key fits in this many characters, so the key (two halves
# and a bar) fits its 210-character column whatever the name folds into.
FOLDED_MAX = 100


def bounded(folded: str, limit: int = FOLDED_MAX) -> str:
    """A folded text at most `limit` long. Normalisation can grow a 100-character name
    eighteenfold ('ﷺ' decomposes into 18 letters); a longer one is replaced by its digest,
    which still matches exactly the same typed names and nothing else."""
    if len(folded) <= limit:
        return folded
    return "#" + hashlib.sha256(folded.encode("utf-8")).hexdigest()


def identity_key(last_name: str, first_name: str) -> str:
    return f"{bounded(fold(last_name))}|{bounded(fold(first_name))}"
