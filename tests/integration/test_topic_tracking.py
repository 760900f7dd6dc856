"""KIP-558 topic tracking on a standalone worker, through the real CLI and a real broker:
GET /connectors/{c}/topics and PUT /connectors/{c}/topics/reset with Kafka Connect's codes,
bodies and messages (ConnectorsResource, AbstractHerder), and the worker keys
topic.tracking.enable / topic.tracking.allow.reset. The distributed side (the
status-topic-<topic>:connector-<c> records) is compared with Connect's own records in
test_distributed_topics.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import kcat_consume, kcat_produce, unique_topic
from http_json import call
from worker import Worker, wait_for

STRING = "org.apache.kafka.connect.storage.StringConverter"


def topics(url: str, name: str):
    return call("GET", f"{url}/connectors/{name}/topics")


def test_source_and_sink_record_their_topics_and_reset_forgets_them(kafka, tmp_path: Path):
    t_in, t_out = unique_topic("lc-track-src"), unique_topic("lc-track-sink")
    infile, outfile = tmp_path / "in.txt", tmp_path / "out.txt"
    infile.write_text("a\nb\n")
    src = {"name": "src", "connector.class": "FileStreamSource", "file": str(infile),
           "topic": t_in, "value.converter": STRING}
    snk = {"name": "snk", "connector.class": "FileStreamSink", "file": str(outfile),
           "topics": t_out, "value.converter": STRING}
    with Worker(tmp_path, kafka, [src, snk]) as w:
        url = w.url()
        # a source records the topic it writes to, a sink the topics it reads
        wait_for(lambda: topics(url, "src") == (200, {"src": {"topics": [t_in]}}), 60,
                 "the source's topic", w.log)
        assert topics(url, "snk") == (200, {"snk": {"topics": []}})  # nothing read yet
        kcat_produce(kafka, t_out, [b"x"])
        wait_for(lambda: topics(url, "snk") == (200, {"snk": {"topics": [t_out]}}), 60,
                 "the sink's topic", w.log)
        # Connect answers any name: a connector that does not exist used no topics
        assert topics(url, "nope") == (200, {"nope": {"topics": []}})
        assert call("POST", f"{url}/connectors/src/topics")[0] == 405

        # reset: 202 without a body, then the list is empty until the task uses the topic again
        assert call("PUT", f"{url}/connectors/src/topics/reset") == (202, None)
        assert topics(url, "src") == (200, {"src": {"topics": []}})
        with infile.open("a") as f:
            f.write("c\n")
        wait_for(lambda: topics(url, "src") == (200, {"src": {"topics": [t_in]}}), 60,
                 "the source's topic recorded again after the reset", w.log)

        # a deleted connector's topics go with it
        assert call("DELETE", f"{url}/connectors/snk")[0] == 204
        assert topics(url, "snk") == (200, {"snk": {"topics": []}})
    # kept in the worker's store across a restart, as Connect's status topic keeps them
    again = {"offset.storage.file.filename": str(tmp_path / "w.offsets.db")}
    with Worker(tmp_path, kafka, [src], worker=again, name="w2") as w:
        assert topics(w.url(), "src") == (200, {"src": {"topics": [t_in]}})


def test_tracking_disabled_is_403_and_records_nothing(kafka, tmp_path: Path):
    t_in = unique_topic("lc-track-off")
    infile = tmp_path / "in.txt"
    infile.write_text("a\n")
    src = {"name": "src", "connector.class": "FileStreamSource", "file": str(infile),
           "topic": t_in, "value.converter": STRING}
    with Worker(tmp_path, kafka, [src], worker={"topic.tracking.enable": "false"}) as w:
        url = w.url()
        wait_for(lambda: (w.status("src", 0) or ("",))[0] == "RUNNING", 60, "src RUNNING", w.log)
        want = (403, {"error_code": 403, "message": "Topic tracking is disabled."})
        assert topics(url, "src") == want
        assert call("PUT", f"{url}/connectors/src/topics/reset") == want
        # nothing was recorded while tracking was off (the records went out)
        assert kcat_consume(kafka, t_in, 1) == [b"a"]
        con = sqlite3.connect(w.db)
        try:
            assert con.execute("SELECT count(*) FROM active_topics").fetchone() == (0,)
        finally:
            con.close()


def test_reset_disallowed_is_403(kafka, tmp_path: Path):
    t_in = unique_topic("lc-track-noreset")
    infile = tmp_path / "in.txt"
    infile.write_text("a\n")
    src = {"name": "src", "connector.class": "FileStreamSource", "file": str(infile),
           "topic": t_in, "value.converter": STRING}
    with Worker(tmp_path, kafka, [src], worker={"topic.tracking.allow.reset": "false"}) as w:
        url = w.url()
        wait_for(lambda: topics(url, "src") == (200, {"src": {"topics": [t_in]}}), 60,
                 "the source's topic", w.log)
        assert call("PUT", f"{url}/connectors/src/topics/reset") == \
            (403, {"error_code": 403, "message": "Topic tracking reset is disabled."})
        assert topics(url, "src") == (200, {"src": {"topics": [t_in]}})


def test_a_bad_tracking_key_stops_the_worker_naming_it(kafka, tmp_path: Path):
    with Worker(tmp_path, kafka, [], worker={"topic.tracking.enable": "maybe"}) as w:
        assert w.proc.wait(30) != 0
        assert "topic.tracking.enable" in w.log(), w.log()
