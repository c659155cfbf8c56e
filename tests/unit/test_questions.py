import json
import random
from collections import Counter
from dataclasses import FrozenInstanceError
from importlib import resources

import pytest

from app.questions import (
    MIN_BANK_SIZE,
    Question,
    by_id,
    draw_test,
    load_bank,
    parse_bank,
    public_view,
)


def _raw_bank() -> list[dict[str, object]]:
    text = resources.files("app.questions").joinpath("bank.json").read_text(encoding="utf-8")
    data: list[dict[str, object]] = json.loads(text)
    return data


def test_shipped_bank_is_large_valid_and_covers_five_domains() -> None:
    bank = load_bank()
    assert len(bank) >= 30
    assert len({q.id for q in bank}) == len(bank)
    assert len({q.domain for q in bank}) == 5
    for q in bank:
        assert 3 <= len(q.choices) <= 4
        assert 0 <= q.answer < len(q.choices)


def test_correct_answers_are_not_all_in_the_same_position() -> None:
    positions = Counter(q.answer for q in load_bank())
    assert len(positions) >= 3
    assert max(positions.values()) < len(load_bank()) / 2


def test_load_bank_is_cached_and_questions_are_frozen() -> None:
    assert load_bank() is load_bank()
    with pytest.raises(FrozenInstanceError):
        load_bank()[0].answer = 0  # type: ignore[misc]


def test_by_id_finds_questions_and_rejects_unknown_ids() -> None:
    q = load_bank()[3]
    assert by_id(q.id) is q
    with pytest.raises(KeyError):
        by_id("q999")


def test_public_view_never_reveals_the_answer() -> None:
    q = by_id("q01")
    view = public_view(q, 4)
    assert view == {"id": "q01", "index": 4, "text": q.text, "choices": list(q.choices)}
    assert "answer" not in json.dumps(view)


@pytest.mark.parametrize("count", [0, 1, 5, 12, 20, 36])
def test_draw_test_gives_distinct_known_ids(count: int) -> None:
    drawn = draw_test(count, random.Random(count))
    assert len(drawn) == count
    assert len(set(drawn)) == count
    for qid in drawn:
        by_id(qid)


def test_draw_test_spreads_across_domains() -> None:
    domains = {q.domain for q in load_bank()}
    for seed in range(50):
        drawn = draw_test(12, random.Random(seed))
        per_domain = Counter(by_id(qid).domain for qid in drawn)
        assert set(per_domain) == domains
        # 12 over 5 domains: two or three each, never one domain hogging the test.
        assert max(per_domain.values()) - min(per_domain.values()) <= 1


def test_draw_test_is_reproducible_with_a_seed_and_varies_without() -> None:
    assert draw_test(10, random.Random(7)) == draw_test(10, random.Random(7))
    draws = {tuple(draw_test(10)) for _ in range(20)}
    assert len(draws) > 1


def test_draw_test_does_not_always_put_the_same_domain_first() -> None:
    firsts = {by_id(draw_test(10, random.Random(seed))[0]).domain for seed in range(40)}
    assert len(firsts) > 1


def test_draw_test_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        draw_test(-1)
    with pytest.raises(ValueError):
        draw_test(len(load_bank()) + 1)


def test_draw_test_does_not_disturb_the_bank() -> None:
    before = load_bank()
    draw_test(len(before), random.Random(1))
    assert load_bank() == before


def test_parse_bank_accepts_the_shipped_data() -> None:
    parsed = parse_bank(_raw_bank())
    assert parsed == load_bank()
    assert all(isinstance(q, Question) for q in parsed)


def _valid(n: int = MIN_BANK_SIZE) -> list[dict[str, object]]:
    return [
        {
            "id": f"t{i}",
            "domain": "d",
            "text": "Question ?",
            "choices": ["a", "b", "c"],
            "answer": 0,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("answer", 3),
        ("answer", -1),
        ("answer", True),
        ("answer", "0"),
        ("choices", ["a", "b"]),
        ("choices", ["a", "b", "c", "d", "e"]),
        ("choices", ["a", "a", "b"]),
        ("choices", ["a", "", "b"]),
        ("text", ""),
        ("id", None),
        ("domain", 3),
    ],
)
def test_parse_bank_rejects_a_bad_question(field: str, value: object) -> None:
    raw = _valid()
    raw[5][field] = value
    with pytest.raises(ValueError):
        parse_bank(raw)


def test_parse_bank_rejects_duplicate_ids_small_banks_and_non_lists() -> None:
    raw = _valid()
    raw[1]["id"] = raw[0]["id"]
    with pytest.raises(ValueError, match="duplicate"):
        parse_bank(raw)
    with pytest.raises(ValueError):
        parse_bank(_valid(MIN_BANK_SIZE - 1))
    with pytest.raises(ValueError):
        parse_bank({"q01": {}})
    with pytest.raises(ValueError):
        parse_bank([*_valid(), "not an object"])
    assert len(parse_bank(_valid(MIN_BANK_SIZE))) == MIN_BANK_SIZE
