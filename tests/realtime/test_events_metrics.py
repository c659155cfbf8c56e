from __future__ import annotations

import pytest

from realtime.events import (
    MAX_FRAME,
    channel_for,
    decode,
    encode,
    session_id_from_channel,
    unwrap,
    wrap,
    wrap_text,
)
from realtime.metrics import Counter, Gauge, Histogram, Metrics


def test_channel_round_trip() -> None:
    assert channel_for(42) == "surveillance:session:42"
    assert session_id_from_channel(channel_for(42)) == 42
    for bad in ("surveillance:session:", "surveillance:session:+4", "other:42", "surveillance:session:٣"):
        assert session_id_from_channel(bad) is None
    assert MAX_FRAME == 65536


def test_encode_is_compact_and_decode_wants_an_object() -> None:
    assert encode({"a": [1, 2], "é": "ü"}) == '{"a":[1,2],"é":"ü"}'
    assert decode('{"type": "resync", "since": 3}') == {"type": "resync", "since": 3}
    for bad in ("[1]", "3", "null", "{", "", '"x"', b"\xff"):
        with pytest.raises(ValueError):
            decode(bad)
    with pytest.raises(ValueError):
        decode("[" * 100_000 + "]" * 100_000)


def test_wire_format_carries_event_and_publish_time() -> None:
    event = {"type": "event", "version": 7, "name": "candidate.updated", "candidate": {"id": 3}}
    published = unwrap(9, wrap(event, now=1000.5))
    assert published.session_id == 9
    assert published.version == 7
    assert published.event == event
    assert decode(published.text) == event
    assert published.published_at == 1000.5
    for bad in ('{"t": 1}', '{"e": {"version": -1}}', '{"e": {"version": true}}', "[]"):
        with pytest.raises(ValueError):
            unwrap(9, bad)


def test_an_event_published_as_text_reaches_sockets_as_that_text() -> None:
    text = '{"type":"event","version":8,"name":"candidate.updated","candidate":{"id":3,"name":"Zoé"}}'
    data = wrap_text(text, now=12.25)
    assert decode(data) == {"t": 12.25, "e": decode(text)}
    published = unwrap(4, data)
    assert published.text == text
    assert published.version == 8
    assert published.event["candidate"]["name"] == "Zoé"
    assert published.published_at == 12.25
    assert wrap_text(encode(decode(text)), now=1.0) == wrap(decode(text), now=1.0)


def test_prometheus_text() -> None:
    metrics = Metrics()
    metrics.sockets_open.inc(kind="supervisor")
    metrics.sockets_open.inc(kind="supervisor")
    metrics.sockets_open.dec(kind="supervisor")
    metrics.events_published_total.inc(3)
    metrics.fanout_latency_seconds.observe(0.003)
    metrics.fanout_latency_seconds.observe(60)
    text = metrics.render()
    assert 'surveillance_sockets_open{kind="supervisor"} 1\n' in text
    assert 'surveillance_sockets_open{kind="candidate"} 0\n' in text
    assert "# TYPE surveillance_events_published_total counter\n" in text
    assert "surveillance_events_published_total 3\n" in text
    assert "# TYPE surveillance_fanout_latency_seconds histogram\n" in text
    assert 'surveillance_fanout_latency_seconds_bucket{le="0.0005"} 0\n' in text
    assert 'surveillance_fanout_latency_seconds_bucket{le="0.005"} 1\n' in text
    assert 'surveillance_fanout_latency_seconds_bucket{le="5"} 1\n' in text
    assert 'surveillance_fanout_latency_seconds_bucket{le="+Inf"} 2\n' in text
    assert "surveillance_fanout_latency_seconds_count 2\n" in text
    assert text.endswith("\n")


def test_metric_types_guard_their_use() -> None:
    counter = Counter("c_total", "c", ("kind",))
    with pytest.raises(ValueError):
        counter.inc(kind="a", other="b")
    with pytest.raises(ValueError):
        counter.inc(-1, kind="a")
    gauge = Gauge("g", "g")
    gauge.set(5)
    gauge.dec(2)
    assert gauge.value() == 3
    histogram = Histogram("h", "h", (1.0, 0.1))
    histogram.observe(0.1)  # le is inclusive
    assert 'h_bucket{le="0.1"} 1' in histogram.samples()
    label = Counter("x_total", "x", ("path",))
    label.inc(path='a"b\\c\nd')
    assert label.samples() == ['x_total{path="a\\"b\\\\c\\nd"} 1']


def test_the_event_text_is_passed_on_as_published() -> None:
    """Our wrapper is cut apart, not re-encoded; another writer's JSON is still understood."""
    event = {"type": "event", "version": 2, "name": "candidate.updated", "candidate": {"id": 1, "n": "é\u2028"}}
    data = wrap(event, now=5.0)
    assert decode(data) == {"t": 5.0, "e": event}  # still one JSON object for any reader
    assert unwrap(9, data).text == encode(event)
    spaced = '{"e": {"version": 3, "x": [1, 2]}, "t": 6}'
    published = unwrap(9, spaced)
    assert (published.version, published.text, published.published_at) == (3, '{"version":3,"x":[1,2]}', 6.0)
    extra = '{"t":1,"e":{"version":4},"x":2}'
    assert unwrap(9, extra).text == '{"version":4}'
    assert unwrap(9, '{"t":NaN,"e":{"version":5}}').published_at is None
