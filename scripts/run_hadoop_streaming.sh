#!/usr/bin/env bash
# Submit the analysis as a plain Hadoop Streaming job, for gateways without mrjob: the nodes
# need python3 only (the package travels as ruleset_analysis.zip, the database as a file).
#
#   scripts/run_hadoop_streaming.sh --db accesslists.db --output /user/me/results \
#       hdfs:///data/fw01/2014 hdfs:///data/fw02/2014
#   hadoop fs -getmerge /user/me/results results && ruleset-analysis report results
#
# Options: --db FILE, --output DIR (required), --name NAME, --reducers N, --jar STREAMING_JAR
# (default: $HADOOP_STREAMING_JAR or the one under $HADOOP_HOME), --python PYTHON (on the
# nodes, default python3), --year Y, --assume-firewall F, --max-connections N, --dry-run (print the
# command instead of running it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
db="" output="" name="ruleset-analysis" reducers="" python="python3" dry_run=""
jar="${HADOOP_STREAMING_JAR:-}" mapper_options="" max_connections=1000
inputs=()
while [ $# -gt 0 ]; do
  case "$1" in
    --db) db="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    --name) name="$2"; shift 2 ;;
    --reducers) reducers="$2"; shift 2 ;;
    --jar) jar="$2"; shift 2 ;;
    --python) python="$2"; shift 2 ;;
    --year|--assume-firewall|--since|--until|--permits-from)
      mapper_options="$mapper_options $1 $2"; shift 2 ;;
    --max-connections) max_connections="$2"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run_hadoop_streaming.sh: unknown option $1" >&2; exit 1 ;;
    *) inputs+=("$1"); shift ;;
  esac
done
if [ -z "$db" ] || [ -z "$output" ] || [ ${#inputs[@]} -eq 0 ]; then
  echo "run_hadoop_streaming.sh: --db, --output and at least one input are required" >&2
  exit 1
fi
if [ ! -f "$db" ]; then
  echo "run_hadoop_streaming.sh: $db: database not found" >&2
  exit 1
fi
if [ -z "$jar" ] && [ -n "${HADOOP_HOME:-}" ]; then
  jar="$(ls "$HADOOP_HOME"/share/hadoop/tools/lib/hadoop-streaming-*.jar 2>/dev/null | head -n 1)"
fi
if [ -z "$jar" ]; then
  echo "run_hadoop_streaming.sh: no streaming jar: give --jar or set HADOOP_STREAMING_JAR" >&2
  exit 1
fi

# The package, zipped: the nodes import it from the task's working directory.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$here/.." && python3 -m ruleset_analysis.streaming package "$work/ruleset_analysis.zip")

command=(hadoop jar "$jar" -D "mapreduce.job.name=$name")
[ -n "$reducers" ] && command+=(-D "mapreduce.job.reduces=$reducers")
command+=(-files "$db#accesslists.db,$work/ruleset_analysis.zip#ruleset_analysis.zip,$here/mapper.py,$here/reducer.py")
for input in "${inputs[@]}"; do command+=(-input "$input"); done
command+=(-output "$output"
          -mapper "$python mapper.py --db accesslists.db$mapper_options"
          -combiner "$python reducer.py --combine"
          -reducer "$python reducer.py --max-connections $max_connections")
if [ -n "$dry_run" ]; then
  printf '%q ' "${command[@]}" | sed 's/ $/\n/'
  exit 0
fi
"${command[@]}"
echo "results in $output: hadoop fs -getmerge $output results && ruleset-analysis report results --db $db"
