#!/usr/bin/env bash
# Mutation testing of the security core with cosmic-ray (the "mutation" extra).
# Too slow for the test command: run it by hand after changing a check or its tests.
#
#   scripts/mutation.sh                  every module below, one after another
#   scripts/mutation.sh keys config      only these
#   MUTATION_SAMPLE=100 scripts/mutation.sh verify    a seeded random sample of 100 mutants a module
#
# Each module is mutated in a copy of the working tree (.mutation/src, git-ignored), one mutant at a
# time at low priority, against the fast unit tests that cover it (`timeout` bounds each run; a hang
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

  declare -A module_path=(
    [fetch]=streamlit_alb_auth/fetch.py
    [urls]=streamlit_alb_auth/urls.py
    [keys]=streamlit_alb_auth/keys.py
    [verify]=streamlit_alb_auth/verify.py
    [access_token]=streamlit_alb_auth/access_token.py
    [oidc_metadata]=streamlit_alb_auth/oidc_metadata.py
    [config]=streamlit_alb_auth/config.py
    [lambda]=streamlit_alb_auth/templates/logout_lambda.py
    [authenticate]=streamlit_alb_auth/authenticate.py
    [session]=streamlit_alb_auth/session.py
    [user]=streamlit_alb_auth/user.py
    [middleware]=streamlit_alb_auth/asgi/middleware.py
    [user_headers]=streamlit_alb_auth/asgi/user_headers.py
  )
  # The fast tests that cover each module, the quickest and most pointed first (pytest stops at the
  # first failure; third-party plugins other than pytest-timeout are not loaded: seconds a mutant).
  # tests/unit/test_asgi_middleware.py goes first where it is listed: it shares the process-wide key store's budget of
  # 10 key fetches a minute, which files that run before it in the same process may have spent.
  # The byte-for-byte template test is left out on purpose: any edit fails it.
  declare -A module_tests=(
    [fetch]="tests/unit/test_fetch.py tests/unit/test_keys.py"
    [urls]="tests/unit/test_fetch.py tests/unit/test_session.py"
    [keys]="tests/unit/test_keys.py tests/unit/test_verify.py"
    [verify]="tests/unit/test_verify.py tests/unit/test_keys.py"
    [access_token]="tests/unit/test_access_token.py tests/unit/test_session.py"
    [oidc_metadata]="tests/unit/test_access_token.py tests/unit/test_session.py"
    [config]="tests/unit/test_config.py tests/unit/test_session.py"
    [lambda]="tests/templates/test_logout_lambda.py tests/templates/test_logout_hops.py tests/templates/test_logout_revoke.py"
    [authenticate]="tests/unit/test_asgi_middleware.py tests/unit/test_asgi_verifier.py tests/security/test_attack_stories_tokens.py tests/unit/test_access_token_audience.py tests/unit/test_asgi_middleware_door.py tests/unit/test_authenticate.py tests/unit/test_session.py tests/unit/test_access_token.py"
    [session]="tests/unit/test_session.py tests/unit/test_access_token.py"
    [user]="tests/unit/test_session.py tests/unit/test_user.py tests/unit/test_authenticate.py"
    [middleware]="tests/unit/test_asgi_middleware.py tests/unit/test_asgi_middleware_door.py tests/unit/test_asgi_verifier.py tests/unit/test_asgi_machines.py"
    [user_headers]="tests/unit/test_asgi_user_headers.py tests/unit/test_asgi_middleware.py tests/unit/test_asgi_middleware_door.py tests/unit/test_asgi_verifier.py tests/unit/test_asgi_machines.py"
  )
  # The security core (issue 14); authenticate, session, user and the door (middleware, user_headers)
  # can be named on the command line.
  default_modules=(fetch urls keys verify access_token oidc_metadata config lambda)
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
  for name in "${modules[@]}"; do
    path=${module_path[$name]:-}
    if [ -z "$path" ]; then echo "unknown module $name (one of: ${!module_path[*]})" >&2; exit 2; fi
    if [ ! -f "$path" ]; then echo "$name: $path does not exist here; skipped"; continue; fi
    tests=""
    for test in ${module_tests[$name]}; do [ -f "$test" ] && tests="$tests $test"; done
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
    echo "== $name: mutating $path against$tests"
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
