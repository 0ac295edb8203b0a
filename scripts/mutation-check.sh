#!/usr/bin/env bash
# Mutation check (issue 17): does the test suite notice when a README guarantee breaks?
#
#   scripts/mutation-check.sh [BUILD_DIR] [--only REGEX]
#
#   BUILD_DIR     a configured Ninja build, Release (default: build, which scripts/build.sh
#                 makes; it is run first when build/ is missing)
#   --only REGEX  only the catalogue entries whose guarantee text matches REGEX (a Python
#                 regular expression, searched anywhere in the text)
#
# scripts/mutations.json holds one small, realistic bug per guarantee: the source file (a .cpp
# under src/, never a header, whose change would rebuild everything), the exact text to find
# (it must occur exactly once), its replacement, and the `ctest -R` regex of the tests that
# guard it. After building the unmutated tree and running the union of the entries' tests on
# it (a failing baseline stops the check: every mutation would look killed), each entry in
# turn: the bug is applied, fmnist and fmnist_tests are rebuilt with ninja, the entry's tests
# run, and the file is restored. Tests that fail: the mutation is "killed"; tests that pass:
# it "SURVIVED", the guarantee is broken and no test noticed. A stale entry (its text not
# found exactly once), a bug that does not compile and a regex that matches no test are
# errors, never counted as killed. At the end the unmutated tree is rebuilt, so BUILD_DIR is
# left current, and a summary printed.
#
# Exit status: 0 when every mutation was killed; 1 when one survived or an entry was an error
# (or the baseline failed); 2 for a usage error.
#
# Your work is safe: the check refuses to start while a file the catalogue names has
# uncommitted changes (git diff), saves each file before mutating it and copies it back
# (touched, so that ninja rebuilds it) after its tests, and on any failure, Ctrl-C or SIGTERM
# (Ctrl-C stops the build or tests at once; a SIGTERM sent to the script alone takes effect
# when the running build or test step ends). Only kill -9 can leave a mutation behind:
# `git diff` shows it, `git checkout -- FILE` undoes it, and the next run refuses to start
# until then.
#
# Cost: the baseline (a build, then every entry's tests once: a few minutes), then per
# mutation one recompiled source file (and the one restored before it), fmnist and
# fmnist_tests relinked, and the entry's tests (seconds for the unit suites, up to about a
# minute for the CliTest ones that train): expect 1-3 minutes a mutation on the 2-core
# machine, an hour or more for the whole catalogue; --only checks a part. It builds with
# ninja's default parallelism and runs the tests with ctest -j2, so it loads the machine
# throughout. Logs: a directory under $TMPDIR (or /tmp), printed at the start and the end.
set -euo pipefail

usage() {
  echo "usage: scripts/mutation-check.sh [BUILD_DIR] [--only REGEX]   (see the script's header)"
}
die() {
  echo "mutation-check: $*" >&2
  exit 1
}

build_dir=build
only=""
have_build_dir=0
while (($# > 0)); do
  case $1 in
    --only)
      if (($# < 2)); then usage >&2; exit 2; fi
      only=$2
      shift 2
      ;;
    --only=*) only=${1#--only=}; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "mutation-check: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      if ((have_build_dir)); then usage >&2; exit 2; fi
      build_dir=$1
      have_build_dir=1
      shift
      ;;
  esac
done

# BUILD_DIR as given is relative to where the script was started; the default is the
# repository's build/.
if ((have_build_dir)); then build_dir=$(realpath -m -- "$build_dir"); fi
cd "$(dirname "$0")/.."
root=$PWD
catalogue=scripts/mutations.json

for tool in git python3 ninja ctest cmp realpath; do
  command -v "$tool" >/dev/null || die "needs $tool"
done
[[ -f $catalogue ]] || die "no $catalogue"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "$root is not a git work tree"

work=$(mktemp -d "${TMPDIR:-/tmp}/fmnist-mutation-check.XXXXXX")
logs=$work/logs
originals=$work/originals
mkdir -p "$logs" "$originals"
helper=$work/catalogue.py

# The catalogue's reader: checks its form, selects entries, counts and applies replacements.
cat >"$helper" <<'PYTHON'
import json
import re
import sys

KEYS = ("guarantee", "file", "find", "replace", "tests")


def fail(message, status=2):
    print("mutation-check: " + message, file=sys.stderr)
    sys.exit(status)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: not a readable JSON catalogue ({e})")
    if not isinstance(entries, list) or not entries:
        fail(f"{path}: must be a non-empty JSON list of entries")
    for number, entry in enumerate(entries, 1):
        where = f"{path}: entry {number}"
        if not isinstance(entry, dict):
            fail(f"{where} is not an object")
        for key in KEYS:
            if not isinstance(entry.get(key), str):
                fail(f"{where} has no string '{key}'")
        for key in ("guarantee", "file", "tests"):
            if not entry[key] or any(c in entry[key] for c in "\t\n\r"):
                fail(f"{where}: '{key}' must be one non-empty line without tabs")
        if not entry["find"]:
            fail(f"{where}: 'find' is empty")
        if entry["find"] == entry["replace"]:
            fail(f"{where}: 'replace' equals 'find', which mutates nothing")
        if not re.fullmatch(r"src/[A-Za-z0-9_./-]+\.cpp", entry["file"]) or ".." in entry["file"]:
            fail(f"{where}: 'file' must be a .cpp file under src/, not {entry['file']!r}")
    return entries


def main():
    command, path = sys.argv[1], sys.argv[2]
    entries = load(path)
    if command == "list":  # the selected entries: number, file, tests, guarantee
        try:
            only = re.compile(sys.argv[3]) if sys.argv[3] else None
        except re.error as e:
            fail(f"--only {sys.argv[3]!r}: not a regular expression ({e})")
        for number, entry in enumerate(entries, 1):
            if only is None or only.search(entry["guarantee"]):
                print("\t".join([str(number), entry["file"], entry["tests"], entry["guarantee"]]))
    elif command == "files":  # every file the catalogue names
        for name in sorted({entry["file"] for entry in entries}):
            print(name)
    elif command in ("count", "apply"):
        entry = entries[int(sys.argv[3]) - 1]
        try:
            with open(entry["file"], "rb") as f:
                text = f.read()
        except OSError as e:
            if command == "count":
                print(f"unreadable ({e.strerror})")
                return
            fail(f"{entry['file']}: {e.strerror}", 1)
        find = entry["find"].encode("utf-8")
        occurrences = text.count(find)
        if command == "count":
            print(occurrences)
            return
        if occurrences != 1:
            fail(f"{entry['file']}: the text to find occurs {occurrences} times, not once", 1)
        with open(entry["file"], "wb") as f:  # in place: the file keeps its inode and mode
            f.write(text.replace(find, entry["replace"].encode("utf-8"), 1))
    else:
        fail(f"unknown command {command}")


main()
PYTHON

listing=$(python3 "$helper" list "$catalogue" "$only")  # exits here if the catalogue is malformed
[[ -n $listing ]] || die "no catalogue entry's guarantee matches --only '$only'"
mapfile -t selected <<<"$listing"

# Refuse to mutate anything that holds uncommitted work: the restore would keep it, but a
# kill -9 in between would leave it mixed with a mutation.
listing=$(python3 "$helper" files "$catalogue")
mapfile -t catalogue_files <<<"$listing"
dirty=()
for file in "${catalogue_files[@]}"; do
  [[ -e $file ]] || continue  # a stale entry, reported as such below
  if ! git ls-files --error-unmatch -- "$file" >/dev/null 2>&1; then
    die "$file is not tracked by git, so a mutation left in it could not be undone; refusing"
  fi
  if ! git diff --quiet -- "$file" || ! git diff --cached --quiet -- "$file"; then
    dirty+=("$file")
  fi
done
if ((${#dirty[@]} > 0)); then
  echo "mutation-check: refusing to start: these files have uncommitted changes:" >&2
  printf '  %s\n' "${dirty[@]}" >&2
  echo "commit or stash them first (a mutation left by a killed run: git checkout -- FILE)" >&2
  exit 1
fi

# The file that holds a mutation right now, and where its original is.
mutated_file=""
saved_copy=""

restore() {
  [[ -n $mutated_file ]] || return 0
  if cp -- "$saved_copy" "$mutated_file" && touch -- "$mutated_file" &&
    cmp -s -- "$saved_copy" "$mutated_file"; then
    mutated_file=""
    return 0
  fi
  echo "mutation-check: COULD NOT RESTORE $mutated_file: its original is $saved_copy" \
    "(or: git checkout -- $mutated_file)" >&2
  return 1
}

# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local status=$?
  trap - INT TERM HUP
  if ! restore; then
    exit 1  # leaves $work, with the original, in place
  fi
  rm -rf -- "$originals"
  exit "$status"
}
trap on_exit EXIT
trap 'echo >&2; echo "mutation-check: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

echo "mutation-check: ${#selected[@]} mutations; logs in $work"

# The build directory: made by scripts/build.sh when it is the default one and missing.
if [[ ! -f $build_dir/build.ninja && ! -f $build_dir/CMakeCache.txt &&
  $(realpath -m -- "$build_dir") == "$root/build" ]]; then
  echo "mutation-check: no $build_dir/: running scripts/build.sh"
  scripts/build.sh
fi
[[ -d $build_dir ]] || die "no build directory $build_dir (configure one, or omit it to use build/)"
[[ -f $build_dir/build.ninja ]] ||
  die "$build_dir is not a Ninja build directory (scripts/build.sh uses Ninja when it is installed)"
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  echo "mutation-check: warning: $build_dir is not a Release build; its tests will be slower" >&2
fi

build() {  # build LOG: fmnist and its tests, output to LOG
  ninja -C "$build_dir" fmnist fmnist_tests >"$1" 2>&1
}

tests_matching() {  # the names of the tests that ctest -R REGEX selects
  ctest --test-dir "$build_dir" -N -R "$1" 2>/dev/null | sed -n 's/^ *Test *#[0-9][0-9]*: //p'
}

echo "mutation-check: building the unmutated tree"
build "$logs/baseline-build.log" ||
  die "the unmutated tree does not build (log: $logs/baseline-build.log)"

# Each selected entry's tests; an entry whose regex matches none is an error, not a mutation.
declare -A no_tests=()
declare -A union=()
for line in "${selected[@]}"; do
  IFS=$'\t' read -r number file tests guarantee <<<"$line"
  mapfile -t names < <(tests_matching "$tests")
  if ((${#names[@]} == 0)); then
    no_tests[$number]=1
    continue
  fi
  for name in "${names[@]}"; do union[$name]=1; done
done

# The baseline: every selected entry's tests once on the unmutated tree, in chunks of exact
# names (ctest's regex engine takes no more than 9 groups, and a bounded pattern).
if ((${#union[@]} > 0)); then
  echo "mutation-check: running the ${#union[@]} tests of these entries on the unmutated tree"
  mapfile -t union_names < <(printf '%s\n' "${!union[@]}" | sort)
  chunk=0
  for ((i = 0; i < ${#union_names[@]}; i += 100)); do
    pattern=""
    for name in "${union_names[@]:i:100}"; do
      pattern+="${pattern:+|}^${name//./\\.}\$"
    done
    chunk=$((chunk + 1))
    log=$logs/baseline-tests-$chunk.log
    if ! ctest --test-dir "$build_dir" -R "$pattern" --timeout 300 -j2 --output-on-failure \
      >"$log" 2>&1; then
      sed -n '/The following tests FAILED/,$p' "$log" >&2
      die "the unmutated tree fails these tests (log: $log); fix that first: every mutation" \
        "would look killed"
    fi
  done
fi

total=${#selected[@]}
killed=0
survived=0
errors=0
problems=()

report_error() {  # report_error GUARANTEE WHAT
  errors=$((errors + 1))
  problems+=("ERROR     $1: $2")
  printf 'ERROR     %s: %s\n' "$1" "$2"
}

for line in "${selected[@]}"; do
  IFS=$'\t' read -r number file tests guarantee <<<"$line"
  started=$SECONDS
  if [[ -n ${no_tests[$number]:-} ]]; then
    report_error "$guarantee" "its tests regex matches no test ($tests)"
    continue
  fi
  occurrences=$(python3 "$helper" count "$catalogue" "$number")
  if [[ $occurrences != 1 ]]; then
    report_error "$guarantee" "stale entry: its text occurs $occurrences times in $file, not once"
    continue
  fi
  build_log=$logs/$number-build.log
  test_log=$logs/$number-tests.log
  saved_copy=$originals/$number
  cp -p -- "$file" "$saved_copy"
  mutated_file=$file  # from here on, every way out restores it
  python3 "$helper" apply "$catalogue" "$number"
  if ! build "$build_log"; then
    restore || exit 1
    report_error "$guarantee" "does not compile (log: $build_log)"
    continue
  fi
  if grep -q '^ninja: no work to do' "$build_log"; then
    restore || exit 1
    report_error "$guarantee" "$file is not part of fmnist or fmnist_tests (nothing rebuilt)"
    continue
  fi
  rc=0
  ctest --test-dir "$build_dir" -R "$tests" --timeout 300 -j2 --output-on-failure \
    >"$test_log" 2>&1 || rc=$?
  restore || exit 1
  seconds=$((SECONDS - started))
  notes=""
  skipped=$(grep -c '\*\*\*Skipped' "$test_log" || true)
  ((skipped == 0)) || notes+="  ($skipped of its tests skipped)"
  if grep -q '\*\*\*Timeout' "$test_log"; then notes+="  (a test timed out)"; fi
  if ((rc != 0)); then
    killed=$((killed + 1))
    printf 'killed    %s  %d s%s\n' "$guarantee" "$seconds" "$notes"
  else
    survived=$((survived + 1))
    problems+=("SURVIVED  $guarantee  (tests: $tests)")
    printf 'SURVIVED  %s  (tests: %s)  %d s%s  log: %s\n' "$guarantee" "$tests" "$seconds" \
      "$notes" "$test_log"
  fi
done

echo "mutation-check: rebuilding the unmutated tree"
build "$logs/final-build.log" ||
  die "the restored tree does not build (log: $logs/final-build.log); check git diff"

echo
echo "$total mutations, $killed killed, $survived survived, $errors errors (logs: $logs)"
if ((survived + errors > 0)); then
  printf '  %s\n' "${problems[@]}"
  exit 1
fi
exit 0
