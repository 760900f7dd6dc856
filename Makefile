# Thin wrapper around CMake. The two commands a newcomer needs:
#   make demo   install what is missing, build, run the database pipeline on the embedded broker
#   make test   install what is missing, build, run every test (real Kafka included),
#               then again under AddressSanitizer + UBSan
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
  CMAKE_FLAGS += -DLC_WERROR=ON
endif
TEST_FILE ?=
# make fuzz: seconds per harness, and which harnesses (default: all of tests/fuzz)
FUZZ_SECONDS ?= 180
FUZZ_TARGETS ?=

.PHONY: all build deps demo test test-unit test-lua test-integration test-asan soak test-eos fuzz bench bench-distributed bench-eos bench-lake bench-http bench-jdbc cdc-vs-debezium bench-cdc format clean

all: build

build:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

deps:
	@tools/deps.sh

demo: deps build
	@examples/sqlite-pipeline/run.sh

# Every test: unit + Lua specs (ctest), integration on a real Kafka broker, then the
# unit and integration tests again on a sanitizer build.
test: deps
	@tools/test.sh

# One piece at a time: make test-unit, make test-lua, make test-integration TEST_FILE=...
test-unit test-lua: build
	@cd $(BUILD) && ctest --output-on-failure -R '^$(subst test-,,$@)/'

test-integration: build
	@LC_BIN=$(abspath $(BUILD))/luaconnect $$(tools/test_python.sh) -m pytest -q tests/integration $(if $(TEST_FILE),-k $(TEST_FILE),)

# The PostgreSQL CDC source beside Debezium's PostgreSQL connector 3.6.1.Final in Kafka Connect,
# same database, same workload, topics compared record by record: the long workload
# (CDC_ROWS rows per table; the integration suite runs 12), with Debezium's defaults and again
# with decimal.handling.mode=string, time.precision.mode=connect, hstore.handling.mode=map.
CDC_ROWS ?= 2000
cdc-vs-debezium: build
	@LC_CDC_ROWS=$(CDC_ROWS) LC_CDC_ALL_MODES=1 LC_CDC_SETTLE_TIMEOUT=600 LC_BIN=$(abspath $(BUILD))/luaconnect $$(tools/test_python.sh) -m pytest -q -p no:cacheprovider tests/integration/test_cdc_vs_debezium.py

# PostgreSQL CDC beside Debezium in Kafka Connect: snapshot rows/s, insert and wide-row update
# events/s and CPU per event (bench/cdc.py; BENCH_RECORDS rows and inserts, a tenth as updates).
bench-cdc: deps build
	@bench/cluster_run.sh cdc

# kill -9 of the worker mid-stream, SOAK_CYCLES times (100), on a real broker (LC_KAFKA_BOOTSTRAP,
# or one started for the run); prints cycles, records, lost and duplicated. make test runs 5.
SOAK_CYCLES ?= 100
soak: build
	@LC_SOAK_CYCLES=$(SOAK_CYCLES) LC_BIN=$(abspath $(BUILD))/luaconnect $$(tools/test_python.sh) -m pytest -q -s -p no:cacheprovider tests/integration/test_soak.py

# Exactly-once sources under the issue's 20 kill -9 of random workers (3-worker cluster) and 20
# standalone kill -9 cycles, plus the zombie and connector-transaction tests; make test runs
# the same file with 3 and 5 kills.
EOS_KILLS ?= 20
test-eos: build
	@LC_EOS_KILLS=$(EOS_KILLS) LC_BIN=$(abspath $(BUILD))/luaconnect $$(tools/test_python.sh) -m pytest -q -s -p no:cacheprovider tests/integration/test_exactly_once.py

# libFuzzer harnesses (tests/fuzz, clang, build-fuzz), FUZZ_SECONDS each; see docs/fuzzing.md.
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh $(FUZZ_TARGETS)

# luaconnect beside Kafka Connect standalone (bench/run.sh, bench/compare.py): pipelines (a)-(c),
# (a1k) 1 KB records, (s1)/(s2)/(s4) a 4-partition sink with tasks.max=1/2/4, the kcat anchor,
# idle; luaconnect only: (d) SQLite source, (e)-(g) SQLite/PostgreSQL/MariaDB sinks. Results in
# bench/results/latest.md; BENCH_RECORDS, BENCH_ROUNDS, BENCH_OUT, BENCH_NOTE (docs/benchmarks.md).
bench: deps build
	@bench/run.sh

# A 3-worker luaconnect cluster beside a 3-worker Kafka Connect cluster: failover after kill -9,
# a worker joining, pipeline (a) throughput, CPU and RSS per worker (bench/distributed.py).
bench-distributed: deps build
	@bench/cluster_run.sh distributed

# Exactly-once off vs on for each transaction.boundary, beside Kafka Connect's (bench/eos.py).
bench-eos: deps build
	@bench/cluster_run.sh eos

# The partitioned file sink: 1,000,000 JSON records from Kafka into hourly files, fsync on
# (bench/lake.py; luaconnect only: Confluent's HDFS/S3 sinks need HDFS or S3).
bench-lake: deps build
	@bench/cluster_run.sh lake

# The HTTP sink to a local HTTP server, batching off and on, BENCH_RECORDS (default here
# 100,000) records (bench/http_bench.py; luaconnect only).
bench-http: deps build
	@BENCH_RECORDS=$${BENCH_RECORDS:-100000} bench/cluster_run.sh http_bench

# The JDBC source and sink on a PostgreSQL the bench starts, 1,000,000 rows each way
# (bench/jdbc.py; luaconnect only: Confluent's JDBC connector is not on Maven Central).
bench-jdbc: deps build
	@bench/cluster_run.sh jdbc

format:
	@clang-format -i core/*.c core/*.h lua/*.c lua/*.h tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
