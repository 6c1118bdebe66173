#!/usr/bin/env bash
# Local infrastructure without Docker: MariaDB, Redis, Java/Maven and a single-node KRaft Kafka.
#
#   deploy/local/infra.sh [ensure]     install what is missing, start what is down, wait until ready
#   deploy/local/infra.sh stop-kafka   stop the Kafka that `ensure` started (MariaDB/Redis keep running)
#
# Idempotent and quiet on success. Noisy tool output goes to .run/logs/infra.log and its tail is
# shown when a step fails.
set -euo pipefail

script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd -- "$script_dir/../.." && pwd)"
run_dir="$repo_root/.run"
logs_dir="$run_dir/logs"
infra_log="$logs_dir/infra.log"

kafka_home="$script_dir/kafka"
kafka_version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$kafka_home/pom.xml")"
cache_dir="${KOBAN_CACHE_DIR:-$HOME/.cache/koban}"
kafka_libs="$cache_dir/kafka-$kafka_version/libs"
kafka_run="$run_dir/kafka"
kafka_data="$kafka_run/data"
kafka_pid_file="$kafka_run/kafka.pid"
kafka_log="$logs_dir/kafka.log"
# What the JVM itself prints (start-up failures, crashes); the broker logs through log4j2 to kafka.log.
kafka_jvm_log="$logs_dir/kafka-jvm.log"
# A fixed id: one local cluster per checkout, and the data dir is formatted only once anyway.
kafka_cluster_id="a29iYW4tbG9jYWwtMDAwMQ"

mkdir -p "$logs_dir"

fail() {
  echo "infra: $*" >&2
  exit 1
}

# One run at a time (parallel test runs, two terminals): a second broker would lose the race for
# the port and look like a crash. `flock -o` keeps the lock in flock itself, so the daemons
# started below do not inherit it and hold it forever.
if [[ -z "${KOBAN_INFRA_LOCKED:-}" ]]; then
  status=0
  KOBAN_INFRA_LOCKED=1 flock -o -w 300 -E 75 "$run_dir/infra.lock" bash "${BASH_SOURCE[0]}" "$@" || status=$?
  if [[ $status -eq 75 ]]; then
    fail "another infra.sh run held $run_dir/infra.lock for 300 s"
  fi
  exit "$status"
fi

# Runs a command with its output in infra.log; on failure shows the tail and exits.
quietly() {
  local what="$1"
  shift
  if ! "$@" >>"$infra_log" 2>&1; then
    echo "infra: $what failed; last lines of $infra_log:" >&2
    tail -n 30 "$infra_log" >&2
    exit 1
  fi
}

apt_updated=0
apt_install() {
  if [[ $apt_updated -eq 0 ]]; then
    quietly "apt-get update" apt-get update
    apt_updated=1
  fi
  quietly "apt-get install $*" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

# Polls a command until it succeeds or the deadline (seconds) passes.
wait_until() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.5
  done
}

port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---------------------------------------------------------------------------------------- MariaDB

mariadb_admin() {
  if command -v mariadb-admin >/dev/null 2>&1; then mariadb-admin "$@"; else mysqladmin "$@"; fi
}

mariadb_client() {
  if command -v mariadb >/dev/null 2>&1; then mariadb "$@"; else mysql "$@"; fi
}

# `ping` reports "alive" even when the login is refused: it only proves the server answers.
mariadb_answers() {
  mariadb_admin --no-defaults -uroot -h127.0.0.1 -P3306 --connect-timeout=2 ping
}

mariadb_tcp_login() {
  mariadb_client --no-defaults -uroot -h127.0.0.1 -P3306 --connect-timeout=2 -e 'SELECT 1'
}

ensure_mariadb() {
  if [[ ! -x /usr/sbin/mariadbd ]]; then
    apt_install mariadb-server mariadb-client
  fi

  if ! mariadb_answers >/dev/null 2>&1; then
    local datadir
    datadir="$(my_print_defaults --mysqld 2>/dev/null | sed -n 's/^--datadir=//p' | tail -n 1)"
    datadir="${datadir:-/var/lib/mysql}"
    # A package installed where it could not start a service may leave the data dir uninitialised.
    if [[ ! -d "$datadir/mysql" ]]; then
      quietly "mariadb-install-db" mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db
    fi
    # The socket and pid file live in /run/mysqld, which is gone after a reboot.
    install -d -o mysql -g mysql /run/mysqld
    # mariadbd refuses to run as root; --user makes it drop to mysql whatever my.cnf says.
    quietly "starting mariadbd" start-stop-daemon --start --oknodo --background \
      --exec /usr/sbin/mariadbd -- --user=mysql
    if ! wait_until 60 mariadb_answers; then
      fail "MariaDB did not answer on 127.0.0.1:3306 within 60 s (see its error log, e.g. /var/log/mysql/error.log)"
    fi
  fi

  # Tests and CI log in as root over TCP with an empty password. A fresh Debian install gives
  # root unix_socket authentication only, so open TCP logins up, through the socket, as OS root.
  if ! mariadb_tcp_login >/dev/null 2>&1; then
    quietly "granting root@127.0.0.1 an empty password" mariadb_client --no-defaults -uroot \
      --socket=/run/mysqld/mysqld.sock -e "
        CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
        ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
        FLUSH PRIVILEGES;"
    mariadb_tcp_login >/dev/null 2>&1 || fail "root still cannot log in to MariaDB over 127.0.0.1:3306 with an empty password"
  fi
}

# ------------------------------------------------------------------------------------------ Redis

redis_answers() {
  [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == "PONG" ]]
}

ensure_redis() {
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
  fi
  if redis_answers; then
    return
  fi
  mkdir -p /var/lib/redis /var/log/redis
  quietly "starting redis-server" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 \
    --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_until 30 redis_answers || fail "Redis did not answer PONG on 127.0.0.1:6379 within 30 s (see /var/log/redis/ci.log)"
}

# ----------------------------------------------------------------------------------- Java, Maven

ensure_java() {
  local missing=()
  command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null 2>&1 || missing+=(maven)
  if ((${#missing[@]} > 0)); then
    apt_install "${missing[@]}"
  fi
}

# ------------------------------------------------------------------------------------------ Kafka

ensure_kafka_libs() {
  if [[ -f "$kafka_libs/.complete" ]]; then
    return
  fi
  # Download next to the target and rename, so an interrupted fetch is never taken as complete.
  local staging="$kafka_libs.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  quietly "fetching Kafka $kafka_version jars from Maven Central" mvn -B -q -Dstyle.color=never \
    -f "$kafka_home/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging"
  touch "$staging/.complete"
  rm -rf "$kafka_libs"
  mv "$staging" "$kafka_libs"
}

kafka_pid() {
  [[ -f "$kafka_pid_file" ]] || return 1
  local pid
  pid="$(cat "$kafka_pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # The pid must still be our broker, not a recycled pid of something else.
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *kafka.Kafka* ]] || return 1
  echo "$pid"
}

# The JVM for Kafka's command-line tools (storage format, topic listing); they log to their own file.
kafka_tool=(java -Xmx256m -Djava.awt.headless=true -Dlog4j2.configurationFile="$kafka_home/log4j2.xml"
  -Dkoban.kafka.logFile="$logs_dir/kafka-tools.log" -cp "$kafka_libs/*")

# A real request (Metadata through the admin client), not just an open port.
kafka_serves() {
  port_open 127.0.0.1 9092 &&
    timeout 30 "${kafka_tool[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 \
      --command-config "$kafka_run/tools.properties" --list
}

wait_for_kafka() {
  local pid="$1"
  local deadline=$((SECONDS + 60))
  until kafka_serves >/dev/null 2>&1; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "infra: Kafka exited during start-up; last lines of $kafka_jvm_log and $kafka_log:" >&2
      tail -n 20 "$kafka_jvm_log" >&2 || true
      tail -n 30 "$kafka_log" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      fail "Kafka did not serve requests on 127.0.0.1:9092 within 60 s (see $kafka_log)"
    fi
    sleep 1
  done
}

ensure_kafka() {
  ensure_kafka_libs
  mkdir -p "$kafka_data"
  sed "s:@DATA_DIR@:$kafka_data:g" "$kafka_home/server.properties.template" >"$kafka_run/server.properties"
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n' >"$kafka_run/tools.properties"

  local pid
  if pid="$(kafka_pid)"; then
    wait_for_kafka "$pid"
    return
  fi
  rm -f "$kafka_pid_file"
  if port_open 127.0.0.1 9092; then
    # A broker started by other means already serves 9092: use it rather than fail to bind.
    wait_for_kafka ""
    return
  fi

  if [[ ! -f "$kafka_data/meta.properties" ]]; then
    quietly "formatting Kafka storage" "${kafka_tool[@]}" kafka.tools.StorageTool format \
      --config "$kafka_run/server.properties" --cluster-id "$kafka_cluster_id" --standalone
  fi

  # The broker must outlive this shell and its terminal. Without job control this shell's
  # children are no group leaders, so setsid and nohup exec in place and $! is the JVM itself.
  setsid nohup java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$kafka_home/log4j2.xml" -Dkoban.kafka.logFile="$kafka_log" \
    -cp "$kafka_libs/*" kafka.Kafka "$kafka_run/server.properties" \
    >>"$kafka_jvm_log" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$kafka_pid_file"
  wait_for_kafka "$pid"
}

stop_kafka() {
  local pid
  if ! pid="$(kafka_pid)"; then
    rm -f "$kafka_pid_file"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # A clean shutdown lets the next start skip log recovery.
  if ! wait_until 60 bash -c "! kill -0 $pid"; then
    echo "infra: Kafka (pid $pid) ignored SIGTERM for 60 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 bash -c "! kill -0 $pid" || fail "Kafka (pid $pid) survived SIGKILL"
  fi
  rm -f "$kafka_pid_file"
}

# ------------------------------------------------------------------------------------------- main

case "${1:-ensure}" in
  ensure)
    ensure_mariadb
    ensure_redis
    ensure_java
    ensure_kafka
    ;;
  stop-kafka)
    stop_kafka
    ;;
  *)
    fail "unknown command '$1' (use: ensure | stop-kafka)"
    ;;
esac
