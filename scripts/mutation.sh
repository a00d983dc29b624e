#!/usr/bin/env bash
# Mutation testing of the security core with cosmic-ray (the "mutation" extra).
# Too slow for the test command: run it by hand after changing a check or its tests.
#
#   scripts/mutation.sh                  every module below, one after another
#   scripts/mutation.sh keys asgi.middleware    only these (module paths in the package, with dots)
#   MUTATION_SAMPLE=100 scripts/mutation.sh verify    a seeded random sample of 100 mutants a module
#
# Each module is mutated in a copy of the working tree (.mutation/src, git-ignored), one mutant at a
# time at low priority, against its tests, found by name (`timeout` bounds each run; a hang
# counts as killed). Mutants inside unevaluated annotations are skipped, and so are mutants that do not
# compile (counted apart: neither killed nor survived). Survivors judged equivalent
# or harmless are listed, one reason each, in scripts/mutation-survivors.md; any other survivor is
# printed with its diff and makes the exit status 1. Results: .mutation/<module>.txt and summary.txt,
# and the table of every module run so far in docs/generated/mutation.md (the docs site's results page).
set -euo pipefail

# All in one function: bash parses it whole before running, so editing this file mid-run is safe.
main() {
  repo=$(cd "$(dirname "$0")/.." && pwd)
  work="$repo/.mutation"
  survivors="$repo/scripts/mutation-survivors.md"
  per_mutant_timeout=${MUTATION_TIMEOUT:-120}

  # A module is named by its path in the package, with dots: verify, asgi.middleware,
  # templates.logout_lambda. Its tests are found by name, no map to keep: tests/unit/test_<name>.py and
  # test_<name>_*.py, dots as underscores (asgi.middleware: test_asgi_middleware.py), and for a module
  # in a folder of tests of its own, tests/<folder>/test_<module>.py and test_<module>_*.py (the
  # template tests' byte-for-byte test_templates.py, which any edit fails, is not among them); then the
  # attack stories in tests/security/. pytest stops at the first failure, so the module's own tests
  # come first; third-party plugins other than pytest-timeout are not loaded (seconds a mutant).
  # The default: the security core; any other module can be named on the command line.
  default_modules=(fetch urls keys verify access_token userinfo oidc_metadata config authenticate session fingerprint user
    bearer asgi.middleware asgi.verifier asgi.user_headers templates.logout_lambda)
  modules=("$@")
  [ ${#modules[@]} -gt 0 ] || modules=("${default_modules[@]}")

  mkdir -p "$work"
  # One run at a time: a second would replace the copy the first is testing in.
  exec 8>"$work/.lock"
  flock -n 8 || { echo "another mutation run is using $work; wait for it" >&2; exit 1; }
  rm -rf "$work/src"
  mkdir "$work/src"
  # Tracked and new (not ignored) files as they are in the working tree.
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - 2>/dev/null) \
    | tar -xf - -C "$work/src"
  # cosmic-ray does not mutate string literals: register scripts/mutation_regex.py as the operator
  # provider "regex", so the regular expressions of the checks are mutated too.
  rm -rf "$work/plugins"
  mkdir -p "$work/plugins/streamlit_alb_auth_mutation-0.dist-info"
  cp "$repo/scripts/mutation_regex.py" "$work/plugins/"
  printf 'Metadata-Version: 2.1\nName: streamlit-alb-auth-mutation\nVersion: 0\n' \
    >"$work/plugins/streamlit_alb_auth_mutation-0.dist-info/METADATA"
  printf '[cosmic_ray.operator_providers]\nregex = mutation_regex:RegexOperators\n' \
    >"$work/plugins/streamlit_alb_auth_mutation-0.dist-info/entry_points.txt"
  cd "$work/src"
  export PYTHONPATH="$work/src:$work/plugins"

  status=0
  for module in "${modules[@]}"; do
    module=${module//\//.}
    module=${module%.py}
    name=${module//./_}
    path="streamlit_alb_auth/${module//.//}.py"
    if [ ! -f "$path" ]; then echo "$module: $path does not exist here; skipped"; continue; fi
    tests=""
    patterns=(tests/unit/test_"$name".py tests/unit/test_"$name"_*.py)
    if [[ $module == *.* ]]; then
      leaf=${module#*.}
      patterns+=(tests/"${module%%.*}"/test_"${leaf//./_}".py tests/"${module%%.*}"/test_"${leaf//./_}"_*.py)
    fi
    for test in "${patterns[@]}" tests/security/test_*.py; do [ -f "$test" ] && tests="$tests $test"; done
    if [ -z "$tests" ]; then echo "$module: no tests/unit/test_$name.py (or folder of its own)" >&2; exit 2; fi
    config="$work/$name.toml"
    session="$work/$name.sqlite"
    cat >"$config" <<EOF
[cosmic-ray]
module-path = "$path"
timeout = $per_mutant_timeout.0
excluded-modules = []
test-command = "env PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 timeout -k 5 $per_mutant_timeout python -m pytest -p pytest_timeout -x -q -p no:cacheprovider -m 'not e2e and not slow' $tests"

[cosmic-ray.distributor]
name = "local"
EOF
    rm -f "$session"
    echo "== $module: mutating $path against$tests"
    nice -n 15 cosmic-ray init "$config" "$session"
    python "$repo/scripts/mutation_session.py" skip-annotations "$session"
    python "$repo/scripts/mutation_session.py" skip-uncompilable "$session"
    if [ -n "${MUTATION_SAMPLE:-}" ]; then
      python "$repo/scripts/mutation_session.py" sample "$session" "$MUTATION_SAMPLE"
    fi
    nice -n 15 cosmic-ray baseline "$config" >/dev/null || { echo "$name: tests fail unmutated" >&2; exit 1; }
    nice -n 15 cosmic-ray exec "$config" "$session"
    if python "$repo/scripts/mutation_session.py" report "$session" "$survivors" >"$work/$name.txt"; then :; else status=1; fi
    head -1 "$work/$name.txt"
  done
  # One line per module ever run here (earlier runs of other modules included).
  head -qn1 "$work"/*.txt >"$work/summary.txt"
  # The same, as the docs site's table (commit it with the change it measured).
  python "$repo/scripts/mutation_session.py" table "$work" "$survivors" "$repo/docs/generated/mutation.md"
  echo "details: $work/<module>.txt; summary of all modules run so far: $work/summary.txt"
  echo "table for the docs site: docs/generated/mutation.md"
  exit $status
}

main "$@"
