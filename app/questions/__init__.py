"""The shipped question bank: digital-skills multiple-choice questions, in French.

The bank is data (``bank.json``), checked once at load so that a bad edit fails
at start-up rather than in front of a candidate.
"""

from __future__ import annotations

import functools
import json
import random
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

__all__ = [
    "MIN_BANK_SIZE",
    "Question",
    "by_id",
    "draw_test",
    "load_bank",
    "parse_bank",
    "public_view",
]

# A test draws from the bank; below this the draws of two candidates side by
# side would overlap too much to be worth anything.
MIN_BANK_SIZE = 24


@dataclass(frozen=True)
class Question:
    id: str
    domain: str
    text: str
    choices: tuple[str, ...]
    answer: int


def _non_empty_str(raw: dict[str, object], field: str, where: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: '{field}' must be a non-empty string")
    return value


def _parse_question(raw: object, position: int) -> Question:
    where = f"question #{position}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object")
    qid = _non_empty_str(raw, "id", where)
    where = f"question {qid!r}"
    domain = _non_empty_str(raw, "domain", where)
    text = _non_empty_str(raw, "text", where)
    choices = raw.get("choices")
    if not isinstance(choices, list) or not 3 <= len(choices) <= 4:
        raise ValueError(f"{where}: 'choices' must be a list of 3 or 4 strings")
    if not all(isinstance(c, str) and c.strip() for c in choices):
        raise ValueError(f"{where}: every choice must be a non-empty string")
    if len(set(choices)) != len(choices):
        raise ValueError(f"{where}: choices must be distinct")
    answer = raw.get("answer")
    # bool is an int subclass; `true` in the JSON is a typo, not index 1.
    if not isinstance(answer, int) or isinstance(answer, bool):
        raise ValueError(f"{where}: 'answer' must be an integer")
    if not 0 <= answer < len(choices):
        raise ValueError(f"{where}: 'answer' {answer} is not a valid choice index")
    return Question(id=qid, domain=domain, text=text, choices=tuple(choices), answer=answer)


def parse_bank(raw: object, *, min_size: int = MIN_BANK_SIZE) -> tuple[Question, ...]:
    """Validate decoded JSON and build the questions; raise ValueError on any defect."""
    if not isinstance(raw, list):
        raise ValueError("the question bank must be a JSON list")
    questions = tuple(_parse_question(item, i) for i, item in enumerate(raw, start=1))
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            raise ValueError(f"duplicate question id {q.id!r}")
        seen.add(q.id)
    if len(questions) < min_size:
        raise ValueError(f"the question bank has {len(questions)} questions, needs {min_size}")
    return questions


@functools.cache
def load_bank() -> tuple[Question, ...]:
    """The shipped bank, read through importlib.resources so an installed wheel works."""
    text = resources.files(__name__).joinpath("bank.json").read_text(encoding="utf-8")
    return parse_bank(json.loads(text))


@functools.cache
def _index() -> dict[str, Question]:
    return {q.id: q for q in load_bank()}


def by_id(qid: str) -> Question:
    """The question with this id; KeyError if the bank has none."""
    return _index()[qid]


def _spread(groups: Iterable[Sequence[str]], count: int) -> list[str]:
    """Take one id from each group in turn, so every domain is covered before any repeats."""
    pending = [list(g) for g in groups if g]
    drawn: list[str] = []
    while len(drawn) < count and pending:
        for group in pending:
            if len(drawn) == count:
                break
            drawn.append(group.pop())
        pending = [g for g in pending if g]
    return drawn


def draw_test(count: int, rng: random.Random | None = None) -> list[str]:
    """``count`` distinct question ids, spread as evenly as possible across domains.

    The default generator is the OS's, so a candidate cannot predict the next
    draw from earlier ones; tests pass a seeded ``random.Random``.
    """
    bank = load_bank()
    if not 0 <= count <= len(bank):
        raise ValueError(f"cannot draw {count} questions from a bank of {len(bank)}")
    chooser = rng if rng is not None else secrets.SystemRandom()
    by_domain: dict[str, list[str]] = {}
    for q in bank:
        by_domain.setdefault(q.domain, []).append(q.id)
    groups = list(by_domain.values())
    for group in groups:
        chooser.shuffle(group)
    # Shuffled domain order: otherwise, when count is not a multiple of the
    # number of domains, the same domains would always get the extra question.
    chooser.shuffle(groups)
    drawn = _spread(groups, count)
    # The round-robin order would make the domain of question n predictable.
    chooser.shuffle(drawn)
    return drawn


def public_view(q: Question, index: int) -> dict[str, object]:
    """What a candidate may see of a question: never the answer."""
    return {"id": q.id, "index": index, "text": q.text, "choices": list(q.choices)}
