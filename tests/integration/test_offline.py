"""luaconnect test: a connector's transform chain run offline over JSON lines, the way a
user checks a pipeline in their own CI (no Kafka involved)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import luaconnect_bin
from worker import write_props

TAG = ('local connect = require "luaconnect"\n'
       "return connect.transform {\n"
       '  config = { field = { type = "string", required = true } },\n'
       "  apply = function(r, cfg)\n"
       '    if r.value.bad then error("bad record " .. r.value.n) end\n'
       "    r.value[cfg.field] = r.topic; r.topic = r.topic .. '-tagged'\n"
       "    return r\n"
       "  end,\n"
       "}\n")
IS_T = ('local connect = require "luaconnect"\n'
        "return connect.predicate { test = function(r) return r.topic == 'drop-me' end }\n")
DROP = ('local connect = require "luaconnect"\n'
        "return connect.transform { apply = function() return nil end }\n")


def setup(tmp: Path, **extra) -> tuple:
    plugins = tmp / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / "tag.lua").write_text(TAG)
    (plugins / "is_drop.lua").write_text(IS_T)
    (plugins / "drop.lua").write_text(DROP)
    worker = write_props(tmp / "worker.properties", {"plugin.path": str(plugins)})
    props = {"name": "pipe", "connector.class": "FileStreamSink", "topics": "t",
             "transforms": "d,tag", "transforms.d.type": "drop", "transforms.d.predicate": "p",
             "predicates": "p", "predicates.p.type": "is_drop",
             "transforms.tag.type": "tag", "transforms.tag.field": "from"}
    props.update(extra)
    return worker, write_props(tmp / "connector.properties", props)


def run(worker, conn, lines, *extra_args):
    p = subprocess.run([str(luaconnect_bin()), "test", "--worker", str(worker), str(conn), *extra_args],
                       input="".join(l + "\n" for l in lines).encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return p.returncode, p.stdout.decode().splitlines(), p.stderr.decode().splitlines()


def test_transforms_and_predicates_run_offline(tmp_path):
    worker, conn = setup(tmp_path)
    rc, out, err = run(worker, conn, [
        '{"topic":"t","partition":1,"offset":7,"timestamp":1700000000000,"key":"k","value":{"n":1,"big":9007199254740993,"f":1.0},"headers":{"h":"x"}}',
        '{"topic":"drop-me","value":{"n":2}}',
        '{"topic":"t","value":{"n":3}}',
    ])
    assert (rc, err) == (0, [])
    assert out == [
        '{"topic":"t-tagged","partition":1,"offset":7,"timestamp":1700000000000,"key":"k",'
        '"value":{"big":9007199254740993,"f":1.0,"from":"t","n":1},"headers":[["h","x"]]}',
        '{"topic":"t-tagged","key":null,"value":{"from":"t","n":3}}',
    ]


def test_repeated_headers_kept_in_order(tmp_path):
    """headers as a list of [name, value] pairs: repeated names and nulls survive, in order;
    InsertHeader adds one more and DropHeaders removes every header of its name."""
    worker, conn = setup(tmp_path, **{"transforms": "ins,drop", "transforms.ins.type": "InsertHeader",
                                      "transforms.ins.header": "a", "transforms.ins.value.literal": "4",
                                      "transforms.drop.type": "DropHeaders",
                                      "transforms.drop.headers": "gone"})
    rc, out, err = run(worker, conn, [
        '{"topic":"t","value":1,"headers":[["a","1"],["gone","x"],["b","2"],["a","3"],["n",null],["gone","y"]]}',
        '{"topic":"t","value":2,"headers":[["a"]]}',
        '{"topic":"t","value":3,"headers":[[1,"x"]]}',
    ])
    assert out == ['{"topic":"t","key":null,"value":1,"headers":[["a","1"],["b","2"],["a","3"],["n",null],["a","4"]]}',
                   '{"topic":"t","key":null,"value":2,"headers":[["a",null],["a","4"]]}']
    assert rc == 1
    assert err == ["error: record 3: INPUT: headers: connect.headers.new: entry 1 must be a {name, value} "
                   "pair with a string name, got a number name"]


def test_errors_name_record_and_stage_and_set_exit_status(tmp_path):
    worker, conn = setup(tmp_path)
    rc, out, err = run(worker, conn, [
        '{"topic":"t","value":{"n":1}}',
        '{"topic":"t","value":{"n":2,"bad":true}}',
        'this is not json',
        '{"topic":"t","value":{"n":4}}',
    ])
    assert rc == 1
    assert len(out) == 2  # the good records still come out
    assert err[0].startswith("error: record 2: TRANSFORMATION: ") and err[0].endswith("tag.lua:5: bad record 2")
    assert err[1].startswith("error: record 3: INPUT: invalid JSON")


def test_schema_envelopes_in_and_out(tmp_path):
    worker, conn = setup(tmp_path, **{"transforms": "",
                                      "value.converter": "org.apache.kafka.connect.json.JsonConverter",
                                      "value.converter.schemas.enable": "true"})
    env = {"schema": {"type": "struct", "fields": [{"type": "int64", "optional": False, "field": "id"},
                                                   {"type": "double", "optional": True, "field": "x"}],
                      "optional": False, "name": "rec"},
           "payload": {"id": 9007199254740993, "x": 1.0}}
    rc, out, err = run(worker, conn, [json.dumps({"topic": "t", "value": env}),
                                      '{"topic":"t","value":{"id":1}}'])
    assert rc == 1
    assert json.loads(out[0])["value"] == env
    assert '"payload":{"id":9007199254740993,"x":1.0}' in out[0]
    assert err == ['error: record 2: VALUE_CONVERTER: JsonConverter with schemas.enable requires "schema" '
                   'and "payload" fields and may not contain additional fields. If you are trying to '
                   'deserialize plain JSON data, set schemas.enable=false in your converter configuration.']


def test_input_file_argument_and_config_errors(tmp_path):
    worker, conn = setup(tmp_path)
    data = tmp_path / "in.jsonl"
    data.write_text('{"topic":"t","value":{"n":1}}\n')
    p = subprocess.run([str(luaconnect_bin()), "test", "--worker", str(worker), str(conn), str(data)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0 and json.loads(p.stdout)["value"] == {"from": "t", "n": 1}
    _, bad = setup(tmp_path, **{"transforms.tag.fild": "x"})
    p = subprocess.run([str(luaconnect_bin()), "test", "--worker", str(worker), str(bad)],
                       input="", capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "connector 'pipe': transform 'tag': unknown key 'fild' (did you mean 'field'?)" in p.stderr


def test_shipped_transforms_example_matches_its_expected_output():
    """examples/transforms: Kafka's SMT class names, a predicate, a failing record."""
    ex = Path(__file__).resolve().parents[2] / "examples" / "transforms"
    p = subprocess.run([str(luaconnect_bin()), "test", "orders-sink.properties", "input.jsonl"],
                       cwd=ex, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert p.stdout == (ex / "expected.jsonl").read_text()
    assert p.stderr == (ex / "expected.err").read_text()
    first = json.loads(p.stdout.splitlines()[0])
    assert first["topic"] == "orders-eu-clean" and first["value"]["card"] == ""
    assert "debug" not in first["value"] and first["value"]["full_name"] == "Ada"
