#!/usr/bin/env bash
# Submit the analysis as a plain Hadoop Streaming job, for gateways without mrjob: the nodes
# need python3 only (the package travels as ruleset_analysis.zip, the database as a file).
#
#   scripts/run_hadoop_streaming.sh --db accesslists.db --output /user/me/results \
#       hdfs:///data/fw01/2014 hdfs:///data/fw02/2014
#   hadoop fs -getmerge /user/me/results results && ruleset-analysis report results
#
# Inputs are files or directories, read recursively (one directory per firewall, any tree
# below it). Options: --db FILE, --output DIR (required), --name NAME, --reducers N, --jar
# STREAMING_JAR (default: $HADOOP_STREAMING_JAR or the one under $HADOOP_HOME), --python PYTHON
# (on the nodes, default python3), --year Y, --assume-firewall F, --since, --until,
# --permits-from, --max-connections N, -D KEY=VALUE (a Hadoop property, repeatable), --dry-run
# (print the command instead of running it; the package zip it names is kept).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
db="" output="" name="ruleset-analysis" reducers="" python="python3" dry_run=""
jar="${HADOOP_STREAMING_JAR:-}" mapper_options="" reducer_options=""
inputs=() properties=()
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
    --max-connections)     # read by every step: the lists are bounded in each task
      mapper_options="$mapper_options $1 $2" reducer_options="$reducer_options $1 $2"
      shift 2 ;;
    -D) properties+=(-D "$2"); shift 2 ;;
    -D*) properties+=(-D "${1#-D}"); shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
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
  if [ -z "$dry_run" ]; then
    echo "run_hadoop_streaming.sh: no streaming jar: give --jar or set HADOOP_STREAMING_JAR" >&2
    exit 1
  fi
  jar="hadoop-streaming.jar"        # a dry run only shows the command
fi

# The package, zipped: the nodes import it from the task's working directory. A dry run keeps
# it, so that the command it prints can be run.
work="$(mktemp -d)"
if [ -z "$dry_run" ]; then
  trap 'rm -rf "$work"' EXIT
  # Ctrl-C ended bash without its EXIT trap, leaving the directory: each ends it by exit
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
fi
(cd "$here/.." && python3 -m ruleset_analysis.streaming package "$work/ruleset_analysis.zip")

# Logs are kept one directory per firewall, often by year and month below it: without the
# recursive property Hadoop refuses such a tree ("Not a file").
command=(hadoop jar "$jar" -D "mapreduce.job.name=$name"
         -D mapreduce.input.fileinputformat.input.dir.recursive=true)
[ -n "$reducers" ] && command+=(-D "mapreduce.job.reduces=$reducers")
[ ${#properties[@]} -gt 0 ] && command+=("${properties[@]}")
command+=(-files "$db#accesslists.db,$work/ruleset_analysis.zip#ruleset_analysis.zip,$here/mapper.py,$here/reducer.py")
for input in "${inputs[@]}"; do command+=(-input "$input"); done
command+=(-output "$output"
          -mapper "$python mapper.py --db accesslists.db$mapper_options"
          -combiner "$python reducer.py --combine$reducer_options"
          -reducer "$python reducer.py$reducer_options")
if [ -n "$dry_run" ]; then
  printf '%q ' "${command[@]}" | sed 's/ $/\n/'
  exit 0
fi
# Hadoop prints its own Java trace when a task fails; the task's Python error is in its log.
if ! "${command[@]}" 2> >(tee "$work/stderr" >&2); then
  wait
  application="$(grep -o 'Submitted application application_[0-9_]*' "$work/stderr" |
                 tail -n 1 | cut -d' ' -f3 || true)"
  message="run_hadoop_streaming.sh: the job failed"
  if [ -n "$application" ]; then
    message="$message; the tasks' own errors are in their logs: yarn logs -applicationId"
    message="$message $application -log_files stderr"
  fi
  echo "$message" >&2
  exit 1
fi
echo "results in $output: hadoop fs -getmerge $output results && ruleset-analysis report results --db $db"
