"""The Kafka test harness itself: broker up, kcat round trip is exact."""

from conftest import kcat_consume, kcat_consume_records, kcat_produce, unique_topic


def test_kcat_roundtrip_exact(kafka):
    topic = unique_topic("lc-harness")
    values = [
        b"first",
        "two\nlines, caf\u00e9 \u2603 \U0001F600".encode("utf-8"),
        b"third:with:colons \x00 and a NUL",
    ]
    kcat_produce(kafka, topic, values)

    got = kcat_consume(kafka, topic, len(values), timeout=30)
    assert got == values

    recs = kcat_consume_records(kafka, topic, len(values), timeout=10)
    assert [r["offset"] for r in recs] == [0, 1, 2]
    assert all(r["key"] is None for r in recs)
