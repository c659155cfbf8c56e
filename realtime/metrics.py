"""A minimal Prometheus text-format registry.

Hand-written instead of prometheus_client: the app needs a handful of series,
one process each, and no multiprocess shared-memory mode (every worker serves
its own /metrics and the scraper sums them).
"""

from __future__ import annotations

import bisect
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Metric(ABC):
    kind = ""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)

    def _key(self, labels: dict[str, str]) -> LabelValues:
        # Every delivery counts; without labels there is nothing to check.
        if not labels and not self.labelnames:
            return ()
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} expects labels {self.labelnames}, got {sorted(labels)}")
        return tuple(labels[name] for name in self.labelnames)

    def header(self) -> list[str]:
        return [
            f"# HELP {self.name} {self.documentation.replace(chr(10), ' ')}",
            f"# TYPE {self.name} {self.kind}",
        ]

    @abstractmethod
    def samples(self) -> list[str]: ...


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, documentation, labelnames)
        self._values: dict[LabelValues, float] = {} if labelnames else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        if amount < 0:
            raise ValueError("counters only go up")
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def samples(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, key)} {_number(value)}"
            for key, value in sorted(self._values.items())
        ]


class Gauge(Counter):
    kind = "gauge"

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def set(self, value: float, **labels: str) -> None:
        self._values[self._key(labels)] = value


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, documentation: str, buckets: Iterable[float]) -> None:
        super().__init__(name, documentation)
        self.buckets = tuple(sorted(set(buckets)))
        # Per-bucket (not cumulative) counts make observe() O(log n); render sums.
        self._counts = [0] * (len(self.buckets) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.buckets, value)] += 1
        self._sum += value

    @property
    def count(self) -> int:
        return sum(self._counts)

    def samples(self) -> list[str]:
        lines = []
        cumulative = 0
        for bound, count in zip((*self.buckets, math.inf), self._counts, strict=True):
            cumulative += count
            le = _labels((), (), f'le="{_number(bound)}"')
            lines.append(f"{self.name}_bucket{le} {cumulative}")
        lines.append(f"{self.name}_sum {_number(self._sum)}")
        lines.append(f"{self.name}_count {cumulative}")
        return lines


LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

SOCKET_KINDS = ("supervisor", "candidate")


class Metrics:
    """The series the realtime layer maintains; one instance per process."""

    def __init__(self) -> None:
        self.sockets_open = Gauge("surveillance_sockets_open", "Open websockets by kind.", ("kind",))
        for kind in SOCKET_KINDS:
            self.sockets_open.set(0, kind=kind)
        self.events_published_total = Counter("surveillance_events_published_total", "Events handed to the broker.")
        self.events_delivered_total = Counter(
            "surveillance_events_delivered_total", "Event frames sent on websockets, live or caught up."
        )
        self.publish_failures_total = Counter(
            "surveillance_publish_failures_total",
            "Publishes the broker refused (clients catch up from the event log).",
        )
        self.slow_consumers_closed_total = Counter(
            "surveillance_slow_consumers_closed_total",
            "Websockets closed because their queue overflowed.",
        )
        self.fanout_latency_seconds = Histogram(
            "surveillance_fanout_latency_seconds",
            "Time from publish to the event being sent on a websocket.",
            LATENCY_BUCKETS,
        )
        self.broker_reconnects_total = Counter(
            "surveillance_broker_reconnects_total",
            "Times the broker subscription came back after a drop.",
        )
        self.snapshot_requests_total = Counter(
            "surveillance_snapshot_requests_total",
            "Snapshots sockets asked for (on connect, and when too far behind to replay).",
        )
        self.snapshot_reads_total = Counter(
            "surveillance_snapshot_reads_total",
            "Snapshots read from the database; below the requests when concurrent reads are shared.",
        )
        self._all: list[_Metric] = [
            self.sockets_open,
            self.events_published_total,
            self.events_delivered_total,
            self.publish_failures_total,
            self.slow_consumers_closed_total,
            self.fanout_latency_seconds,
            self.broker_reconnects_total,
            self.snapshot_requests_total,
            self.snapshot_reads_total,
        ]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._all:
            lines.extend(metric.header())
            lines.extend(metric.samples())
        return "\n".join(lines) + "\n"
