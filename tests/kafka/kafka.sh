#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, broker+controller in one JVM) for the
# luaconnect integration tests. The jars come from Maven Central via
# tests/kafka/pom.xml; no Kafka tarball is needed.
#
#   kafka.sh deps         resolve the jars into $LC_KAFKA_CACHE/lib
#   kafka.sh start DIR    start a broker whose state lives in DIR; prints
#                         "kafka started at HOST:PORT in N s"; DIR/bootstrap
#                         holds HOST:PORT, DIR/sasl_bootstrap the HOST:PORT of a
#                         SASL_PLAINTEXT listener (PLAIN; users admin/admin-secret and
#                         connect/connect-secret), DIR/pid the JVM pid, DIR/kafka.log
#                         its log
#   kafka.sh stop DIR     stop it (SIGTERM, SIGKILL after 20 s); idempotent
#   kafka.sh restart DIR  start a stopped broker of DIR again on the same ports with its
#                         data kept (topics, records, committed offsets); fault tests use
#                         stop + restart to take the broker away from running clients
#   kafka.sh cluster-id [N]  print N (default 1) new KRaft cluster ids
#
# Environment:
#   LC_KAFKA_CACHE          jar cache (default ~/.cache/luaconnect/kafka)
#   LC_KAFKA_START_TIMEOUT  seconds to wait for readiness (default 90)
#   LC_KAFKA_HEAP           JVM heap options (default -Xms256m -Xmx768m)
#   LC_MVN_ARGS             extra Maven arguments (e.g. -Dmaven.repo.local=...)
#   JAVA_HOME               java to use (default: java on PATH)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
POM="$SCRIPT_DIR/pom.xml"
CACHE="${LC_KAFKA_CACHE:-$HOME/.cache/luaconnect/kafka}"
LIB="$CACHE/lib"
STAMP="$CACHE/lib.stamp"
HOST=127.0.0.1

die() { echo "kafka.sh: $*" >&2; exit 1; }
log() { echo "kafka.sh: $*" >&2; }

usage() {
    sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2
    exit 2
}

java_bin() {
    if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
        echo "$JAVA_HOME/bin/java"
    else
        command -v java || die "java not found (install a JDK 17+)"
    fi
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

# ---------------------------------------------------------------- deps
cmd_deps() {
    local want
    want=$(pom_hash)
    mkdir -p "$CACHE"
    # serialise concurrent callers (parallel test sessions)
    exec 9>"$CACHE/.lock"
    flock 9
    if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want" && -d "$LIB" ]]; then
        exec 9>&-
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
    log "resolving Kafka jars with Maven into $LIB"
    local tmp="$CACHE/lib.tmp.$$"
    rm -rf "$tmp"
    # Maven 3.8 prints colour resets even with -B; strip them
    # shellcheck disable=SC2086
    if ! mvn -B -q -Dstyle.color=never -f "$POM" ${LC_MVN_ARGS:-} \
            dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$tmp" </dev/null 2>&1 \
            | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2; then
        rm -rf "$tmp"
        die "Maven could not resolve the Kafka jars"
    fi
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "no kafka_2.13 jar resolved"; }
    rm -rf "$LIB"
    mv "$tmp" "$LIB"
    echo "$want" >"$STAMP"
    exec 9>&-
}

# ---------------------------------------------------------------- helpers
free_port() {
    python3 - "$HOST" <<'EOF'
import socket, sys
s = socket.socket()
s.bind((sys.argv[1], 0))
print(s.getsockname()[1])
s.close()
EOF
}

# N KRaft cluster ids (Kafka's Uuid.randomUuid(): 16 random bytes, URL-safe base64). Like
# Kafka, an id starting with '-' is drawn again: kafka-storage's argument parser reads
# "-t -abc..." as an option, so 1 start in 64 failed with "expected one argument".
random_cluster_id() {
    python3 - "${1:-1}" <<'EOF'
import base64, os, sys
for _ in range(int(sys.argv[1])):
    while True:
        cid = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            break
    print(cid)
EOF
}

# true if PID exists and is not a zombie (an unreaped child of a PID 1 that
# does not reap would otherwise look alive to kill -0)
alive() {
    local state
    state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# pid from DIR/pid if that process is alive and is our broker for DIR
broker_pid() {
    local dir=$1 pid
    [[ -f "$dir/pid" ]] || return 1
    pid=$(cat "$dir/pid" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    alive "$pid" || return 1
    # guard against a recycled pid: the JVM's command line names DIR
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/server.properties" || return 1
    echo "$pid"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# produce one message to a scratch topic and read it back; each kcat call
# is bounded by $2 seconds. The producer is idempotent, so the broker has made and loaded
# its transaction state (the producer ids) before a test's first idempotent producer asks:
# librdkafka 2.0.2's producer that got "Coordinator load in progress" there could wait
# longer than a test's 90 s for its id.
roundtrip() {
    local bs=$1 t=$2 topic=lc-harness-ready token
    token="ready-$$-$RANDOM"
    printf '%s' "$token" | timeout "$t" kcat -q -b "$bs" -P -t "$topic" \
        -X enable.idempotence=true \
        -X message.timeout.ms=$(( t * 1000 )) >/dev/null 2>&1 || return 1
    timeout "$t" kcat -q -b "$bs" -C -t "$topic" -o -1 -e -c 1 -f '%s' 2>/dev/null \
        | grep -qxF -- "$token"
}

# ---------------------------------------------------------------- start
# cmd_start DIR [keep]: keep=1 restarts the stopped broker of DIR (same ports, same data)
cmd_start() {
    local dir=${1:-} keep=${2:-0}
    [[ -n "$dir" ]] || usage
    mkdir -p "$dir"
    dir=$(cd -- "$dir" && pwd -P)
    local t0 pid
    t0=$(now)

    if pid=$(broker_pid "$dir") && [[ -s "$dir/bootstrap" ]]; then
        echo "kafka already running at $(cat "$dir/bootstrap") (pid $pid)"
        return 0
    fi
    command -v kcat >/dev/null || die "kcat not found (apt-get install kcat)"

    cmd_deps
    local java
    java=$(java_bin)

    local port cport sport bs sbs
    if [[ "$keep" == 1 ]]; then
        [[ -f "$dir/server.properties" && -f "$dir/data/meta.properties" ]] \
            || die "no stopped broker in $dir to restart (start one there first)"
        bs=$(sed -n 's|^advertised.listeners=PLAINTEXT://\([^,]*\).*|\1|p' "$dir/server.properties")
        [[ -n "$bs" ]] || die "$dir/server.properties: no advertised.listeners line"
        sbs=$(sed -n 's|^advertised.listeners=.*SASL_PLAINTEXT://\([^,]*\).*|\1|p' "$dir/server.properties")
    else
        port=$(free_port)
        cport=$(free_port)
        while [[ "$cport" == "$port" ]]; do cport=$(free_port); done
        sport=$(free_port)
        while [[ "$sport" == "$port" || "$sport" == "$cport" ]]; do sport=$(free_port); done
        bs="$HOST:$port"
        sbs="$HOST:$sport"

        rm -rf "$dir/data" "$dir/pid" "$dir/bootstrap" "$dir/sasl_bootstrap"
        mkdir -p "$dir/data"

        cat >"$dir/server.properties" <<EOF
# generated by tests/kafka/kafka.sh
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$cport
listeners=PLAINTEXT://$HOST:$port,SASL_PLAINTEXT://$HOST:$sport,CONTROLLER://$HOST:$cport
advertised.listeners=PLAINTEXT://$HOST:$port,SASL_PLAINTEXT://$HOST:$sport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
# SASL/PLAIN on a second listener, for the tests of Java security configs (test_security.py)
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_connect="connect-secret";
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data

num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0

# small box (2 cores): few threads, small files
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
num.replica.fetchers=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
log.segment.bytes=16777216
log.index.size.max.bytes=1048576
offsets.topic.segment.bytes=16777216
transaction.state.log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=300000
EOF

        cat >"$dir/log4j2.properties" <<'EOF'
# generated by tests/kafka/kafka.sh: everything to stdout (-> DIR/kafka.log)
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
logger.controller.name = kafka.controller
logger.controller.level = INFO
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
    fi

    local -a jvm=(
        -cp "$LIB/*"
        -Dlog4j2.configurationFile="$dir/log4j2.properties"
        -Djava.awt.headless=true
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20
        -XX:InitiatingHeapOccupancyPercent=35
        -XX:+ExplicitGCInvokesConcurrent
    )

    # format the KRaft storage (static quorum: controller.quorum.voters)
    local cid
    cid=$(random_cluster_id)
    if [[ "$keep" != 1 ]] && ! "$java" -Xmx256m "${jvm[@]}" kafka.tools.StorageTool format \
            -t "$cid" -c "$dir/server.properties" --ignore-formatted \
            >"$dir/format.log" 2>&1 </dev/null; then
        cat "$dir/format.log" >&2
        die "formatting KRaft storage failed"
    fi

    # start the broker in the background, detached from our stdio
    local heap=${LC_KAFKA_HEAP:--Xms256m -Xmx768m}
    # shellcheck disable=SC2086
    [[ "$keep" == 1 ]] || : >"$dir/kafka.log" # a restart appends to the log
    nohup "$java" $heap "${jvm[@]}" kafka.Kafka "$dir/server.properties" \
        >>"$dir/kafka.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"

    # wait until it really serves: metadata, then a produce+consume round trip
    local timeout=${LC_KAFKA_START_TIMEOUT:-90} deadline ok=0 left
    deadline=$(( $(date +%s) + timeout ))
    while left=$(( deadline - $(date +%s) )); (( left > 0 )); do
        (( left > 10 )) && left=10
        if ! alive "$pid"; then
            log "broker process $pid exited during startup; last log lines:"
            tail -n 60 "$dir/kafka.log" >&2 || true
            rm -f "$dir/pid"
            exit 1
        fi
        if timeout "$left" kcat -q -b "$bs" -L -t lc-harness-ready >/dev/null 2>&1 \
                && roundtrip "$bs" "$left"; then
            ok=1
            break
        fi
        sleep 0.5
    done
    if (( ! ok )); then
        log "broker at $bs not ready after ${timeout}s; last log lines:"
        tail -n 60 "$dir/kafka.log" >&2 || true
        cmd_stop "$dir" >/dev/null 2>&1 || true
        exit 1
    fi

    echo "$bs" >"$dir/bootstrap"
    if [[ -n "${sbs:-}" ]]; then echo "$sbs" >"$dir/sasl_bootstrap"; else rm -f "$dir/sasl_bootstrap"; fi
    echo "kafka started at $bs in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- stop
cmd_stop() {
    local dir=${1:-}
    [[ -n "$dir" ]] || usage
    [[ -d "$dir" ]] || return 0
    dir=$(cd -- "$dir" && pwd -P)
    local pid
    if ! pid=$(broker_pid "$dir"); then
        rm -f "$dir/pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for (( i = 0; i < 200; i++ )); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        log "broker $pid did not stop after 20 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for (( i = 0; i < 50; i++ )); do
            alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$dir/pid"
    echo "kafka stopped (pid $pid)"
}

case "${1:-}" in
    deps)  cmd_deps ;;
    start) shift; cmd_start "${1:-}" ;;
    restart) shift; cmd_start "${1:-}" 1 ;;
    cluster-id) shift; random_cluster_id "${1:-1}" ;;
    stop)  shift; cmd_stop "$@" ;;
    *)     usage ;;
esac
