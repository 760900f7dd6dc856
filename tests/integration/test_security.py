"""Kafka Connect's Java security settings, unchanged, against the broker's SASL_PLAINTEXT
listener (PLAIN): the worker's and the clients' sasl.jaas.config, the way a SASL cluster's or
Confluent Cloud's Connect configs give them (core/java_conf.c turns them into librdkafka's
sasl.username / sasl.password). The records are checked through the broker's other
(PLAINTEXT) listener with kcat."""

from __future__ import annotations

from conftest import (KAFKA_SASL_PASSWORD, KAFKA_SASL_USER, kcat_consume, unique_topic)
from worker import Worker, file_lines, wait_for


def jaas(user: str, password: str) -> str:
    return ("org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="{user}" password="{password}";')


def sasl_worker(kafka_sasl: str, password: str = KAFKA_SASL_PASSWORD) -> dict:
    """A Connect worker config for a SASL/PLAIN cluster: the worker's own clients and, with
    the producer. / consumer. prefixes, the tasks' (as Connect needs them)."""
    conf = {"bootstrap.servers": kafka_sasl,
            "key.converter": "org.apache.kafka.connect.storage.StringConverter",
            "value.converter": "org.apache.kafka.connect.storage.StringConverter"}
    for prefix in ("", "producer.", "consumer."):
        conf[prefix + "security.protocol"] = "SASL_PLAINTEXT"
        conf[prefix + "sasl.mechanism"] = "PLAIN"
        conf[prefix + "sasl.jaas.config"] = jaas(KAFKA_SASL_USER, password)
    return conf


def test_java_sasl_configs_run_unchanged(kafka, kafka_sasl, tmp_path):
    topic = unique_topic("lc-sasl")
    src, out = tmp_path / "in.txt", tmp_path / "out.txt"
    lines = [f"line {i}" for i in range(200)]
    src.write_text("".join(line + "\n" for line in lines))
    w = Worker(tmp_path, kafka_sasl, [
        {"name": "src", "connector.class": "FileStreamSource", "file": str(src), "topic": topic},
        {"name": "snk", "connector.class": "FileStreamSink", "file": str(out), "topics": topic}],
        worker=sasl_worker(kafka_sasl))
    with w:
        wait_for(lambda: len(file_lines(out)) >= len(lines), 60, "every line in the sink's file",
                 w.log)
        assert w.stop() == 0, w.log()[-3000:]
    assert [b.decode() for b in file_lines(out)] == lines
    assert kcat_consume(kafka, topic, len(lines)) == [line.encode() for line in lines]
    assert "not a librdkafka setting" not in w.log(), w.log()[-3000:]


def test_a_wrong_password_is_reported_and_nothing_is_lost(kafka, kafka_sasl, tmp_path):
    """The broker refuses the login: the source's log says so (librdkafka retries, as the
    Java producer's task waits on its metadata); no record reaches the topic and the source
    offset stays where it was, so a restart with the right password sends every line."""
    topic = unique_topic("lc-sasl-bad")
    src = tmp_path / "in.txt"
    src.write_text("a\nb\nc\n")
    conn = [{"name": "src", "connector.class": "FileStreamSource", "file": str(src),
             "topic": topic}]
    (tmp_path / "bad").mkdir()
    w = Worker(tmp_path / "bad", kafka_sasl, conn, worker=sasl_worker(kafka_sasl, "wrong"))
    with w:
        wait_for(lambda: "Authentication failed: Invalid username or password" in w.log(), 60,
                 "the refused login in the log", w.log)
        assert w.stop() == 0, w.log()[-3000:]
    assert kcat_consume(kafka, topic, 1, timeout=3) == []
    (tmp_path / "good").mkdir()
    w = Worker(tmp_path / "good", kafka_sasl, conn, worker=sasl_worker(kafka_sasl))
    with w:
        wait_for(lambda: kcat_consume(kafka, topic, 3, timeout=3) == [b"a", b"b", b"c"], 60,
                 "every line in the topic", w.log)
        assert w.stop() == 0, w.log()[-3000:]


def test_a_bad_jaas_config_fails_the_task_and_names_the_key(kafka_sasl, tmp_path):
    topic = unique_topic("lc-sasl-jaas")
    src = tmp_path / "in.txt"
    src.write_text("a\n")
    w = Worker(tmp_path, kafka_sasl, [
        {"name": "src", "connector.class": "FileStreamSource", "file": str(src), "topic": topic,
         "producer.override.sasl.jaas.config":
             "org.apache.kafka.common.security.plain.PlainLoginModule required "
             'username="connect";'}],
        worker=sasl_worker(kafka_sasl))
    with w:
        wait_for(lambda: (w.status("src", 0) or ("",))[0] == "FAILED", 60, "the task to fail",
                 w.log)
        trace = w.status("src", 0)[1]
        assert w.alive()
    assert ("connector config key 'sasl.jaas.config': PlainLoginModule needs the options "
            "username and password") in trace, trace
