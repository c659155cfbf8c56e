"""Access codes and supervisor passwords: alphabets, typing forgiveness, comparison."""

from __future__ import annotations

import inspect
import re
from collections import Counter

import pytest

from app import codes
from app.actions import candidate_test, guards, supervision

CONFUSABLE = set("AEIOULSZN015")


def test_access_codes_use_their_alphabets_only() -> None:
    drawn = [codes.new_access_code() for _ in range(3000)]
    for code in drawn:
        assert re.fullmatch(r"[BCDFGHJKMPQRTVWXY]{4}[2346789]{2}", code), code
        assert codes.is_access_code(code)
        assert not CONFUSABLE & set(code)
    letters = Counter(ch for code in drawn for ch in code[:4])
    digits = Counter(ch for code in drawn for ch in code[4:])
    # Every symbol of each alphabet comes up, none dominates: the draw spreads over all of them.
    assert set(letters) == set(codes.ACCESS_LETTERS) and set(digits) == set(codes.ACCESS_DIGITS)
    assert max(letters.values()) < 2 * min(letters.values())


def test_supervisor_passwords_use_their_alphabet_only() -> None:
    drawn = [codes.new_supervisor_password() for _ in range(3000)]
    for password in drawn:
        assert re.fullmatch(r"C-[2346789BCDFGHJKMPQRTVWXY]{7}", password), password
        assert codes.is_supervisor_password(password)
    assert set("".join(p[2:] for p in drawn)) == set(codes.PASSWORD_ALPHABET)
    assert len(set(drawn)) == 3000  # 24^7 ≈ 4.6 billion possibilities


def test_sessions_created_with_five_character_passwords_keep_working() -> None:
    assert codes.is_supervisor_password("C-BCDFG")
    assert codes.normalise_supervisor_password("cbcdfg") == "C-BCDFG"
    assert not codes.is_supervisor_password("C-BCDFGH")  # 6: neither the old nor the new length


def test_codes_come_from_the_system_random_source() -> None:
    for fn in (codes.new_access_code, codes.new_supervisor_password):
        assert "secrets.choice" in inspect.getsource(fn)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("C-BCDFG", "C-BCDFG"),
        ("c-bcdfg", "C-BCDFG"),
        ("BCDFG", "C-BCDFG"),
        ("bcdfg", "C-BCDFG"),
        (" C - B C D F G ", "C-BCDFG"),
        ("CBCDFG", "C-BCDFG"),  # the prefix without its dash
        ("CCBDFG", "C-CBDFG"),  # a password that itself starts with C, typed without dash
        ("CBDFG", "C-CBDFG"),  # ... and typed without prefix
        ("C-CBDFG", "C-CBDFG"),
        ("", "C-"),
        ("C-BCDFGHJ", "C-BCDFGHJ"),
        ("CBCDFGHJ", "C-BCDFGHJ"),  # seven characters, the prefix without its dash
        ("bcdfghj", "C-BCDFGHJ"),
        ("CBCDFGH", "C-CBCDFGH"),  # seven characters starting with C, without prefix
    ],
    ids=lambda v: repr(v),
)
def test_the_c_prefix_is_optional_when_typed(typed: str, expected: str) -> None:
    assert codes.normalise_supervisor_password(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("XGDZ45", "XGDZ45"),
        ("xgdz45", "XGDZ45"),
        (" xgdz 45 ", "XGDZ45"),
        ("XGDZ-45", "XGDZ45"),
        ("x\tg d\nz45", "XGDZ45"),
    ],
    ids=["exact", "lower", "spaces", "dash", "tabs-newlines"],
)
def test_access_codes_forgive_case_spaces_and_dashes(typed: str, expected: str) -> None:
    assert codes.normalise_access_code(typed) == expected


def test_comparison_is_constant_time_and_exact() -> None:
    assert "hmac.compare_digest" in inspect.getsource(codes.same)
    # Both doors compare through it, in their shared code-entry check.
    assert "codes.same(" in inspect.getsource(guards.enter_code)
    assert "enter_code(" in inspect.getsource(supervision.grant_supervision)
    assert "enter_code(" in inspect.getsource(candidate_test.join)
    assert codes.same("XGDZ45", "XGDZ45")
    assert not codes.same("XGDZ45", "XGDZ46")
    assert not codes.same("XGDZ45", "XGDZ4")
    assert not codes.same("É", "E")
    assert codes.same("Zoé", "Zoé")  # non-ASCII input does not raise


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Hélène", "HELENE"),
        ("He\u0301le\u0300ne", "Hélène"),
        ("Jean-Pierre", "jean pierre"),
        ("  Jean   Pierre ", "Jean Pierre"),
        ("D'Artagnan", "d artagnan"),
        ("D’Artagnan", "D'Artagnan"),
        ("So\u200bphie", "Sophie"),
        ("\u200fSophie\u200e", "Sophie"),
        ("\ufeffSophie", "Sophie"),
        ("Ｓｏｐｈｉｅ", "Sophie"),
        ("Straße", "STRASSE"),
    ],
    ids=lambda v: repr(v),
)
def test_names_fold_to_the_same_key(a: str, b: str) -> None:
    assert codes.fold(a) == codes.fold(b)


@pytest.mark.parametrize(("a", "b"), [("Sophie", "\u0405ophie"), ("Sophie", "S\u03bfphie"), ("Léa", "Lea B")])
def test_different_names_stay_different(a: str, b: str) -> None:
    assert codes.fold(a) != codes.fold(b)


def test_identity_key_keeps_last_and_first_names_apart() -> None:
    assert codes.identity_key("Jean", "Pierre Paul") != codes.identity_key("Jean Pierre", "Paul")
    assert codes.identity_key("DUPONT", "Paul") == codes.identity_key("dupont", "PAUL")


def test_only_waiting_candidates_are_re_read_periodically() -> None:
    from app.actions.candidate_test import is_waiting

    assert is_waiting({"status": "not_started", "authorized_to_start": False, "resume_requested": False})
    assert is_waiting({"status": "in_progress", "authorized_to_start": False, "resume_requested": True})
    assert not is_waiting({"status": "not_started", "authorized_to_start": True, "resume_requested": False})
    assert not is_waiting({"status": "in_progress", "authorized_to_start": False, "resume_requested": False})
    assert is_waiting(None)
    # A paused test waits on its supervisor too; once ended, the pause means nothing.
    assert is_waiting({"status": "in_progress", "resume_requested": False, "paused": True})
    assert not is_waiting({"status": "ended_by_supervisor", "resume_requested": False, "paused": True})


def test_identity_keys_are_bounded_whatever_the_name_folds_into() -> None:
    from app.codes import FOLDED_MAX, identity_key

    for name in ("ﷺ" * 100, "ß" * 100, "㍻" * 100, "x" * 100):
        key = identity_key(name, name)
        assert len(key) <= 2 * FOLDED_MAX + 1
        assert key == identity_key(name, name)
    assert identity_key("ﷺ" * 100, "a") != identity_key("ﷺ" * 99, "a")
    # Short names are kept readable, as before.
    assert identity_key("Delarue", "Sophie") == "delarue|sophie"
