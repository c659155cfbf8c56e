"""The soak's automatic verdict: flat within 10 % on RSS and open files, judged only when
the population is steady (nobody's test ended during the window)."""

from __future__ import annotations

from typing import Any

from bench.scenarios import soak_verdict


def sample(t: int, rss: float, files: int, answers: int) -> dict[str, Any]:
    return {"t_s": t, "rss_mb": rss, "open_files": files, "answers": answers, "server_cpu_percent": 20.0}


def test_flat_on_a_steady_population() -> None:
    samples = [sample(60 * i, 400 + i * 0.5, 4334, 2000) for i in range(1, 31)]
    samples[0] = sample(60, 380, 4300, 2000)  # warm-up: not judged
    verdict = soak_verdict(samples)
    assert verdict["verdict"] == "flat within 10 %"
    assert verdict["targets"]["rss_and_fds_flat_within_10_percent"] is True
    assert verdict["steady_window"] == {"from_t_s": 120, "to_t_s": 1800, "samples": 29}
    assert verdict["max_deviation_percent"]["open_files"] == 0.0


def test_a_bump_in_the_middle_is_not_flat_even_if_the_end_is() -> None:
    samples = [sample(60 * i, 400, 4334, 2000) for i in range(1, 11)]
    samples[5] = sample(360, 460, 4334, 2000)
    verdict = soak_verdict(samples)
    assert verdict["drift_percent"]["rss_mb"] == 0.0
    assert verdict["max_deviation_percent"]["rss_mb"] == 15.0
    assert verdict["verdict"] == "NOT flat within 10 %"
    assert verdict["targets"]["rss_and_fds_flat_within_10_percent"] is False


def test_candidates_finishing_make_the_judgement_invalid() -> None:
    # The 26 November run: half the tests ended at 19 minutes, their sockets closed.
    samples = [sample(61 + 183 * i, 410 + i * 0.3, 4334, 3000) for i in range(6)]
    samples += [sample(1139 + 123 * i, 413.6, 3334, 1000) for i in range(6)]
    verdict = soak_verdict(samples)
    assert verdict["population_steady"] is False
    assert "population not steady" in verdict["verdict"]
    assert verdict["targets"]["rss_and_fds_flat_within_10_percent"] is False
