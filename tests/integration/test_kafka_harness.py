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


def test_cluster_ids_never_start_with_a_dash():
    """kafka-storage format -t ID reads an id starting with '-' as an option ("expected one
    argument"): with plain URL-safe base64, 1 start in 64 failed. 5,000 ids: a generator
    that can start with '-' passes this with probability (63/64)^5000, about 1e-34."""
    import re
    import subprocess

    from conftest import KAFKA_SH

    out = subprocess.run(["bash", str(KAFKA_SH), "cluster-id", "5000"], stdout=subprocess.PIPE,
                         check=True, timeout=60).stdout.decode().split()
    assert len(out) == 5000
    assert len(set(out)) == 5000
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cid) for cid in out), \
        [cid for cid in out if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", cid)][:5]
    # the draw is still uniform over the other 63 first characters
    assert len({cid[0] for cid in out}) == 63
