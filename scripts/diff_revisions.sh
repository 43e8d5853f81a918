#!/usr/bin/env bash
# Before/after check of a refactor: render a dataset (2 workers, depth, YOLO and BOP), a
# magnetic-tile composite, an LM-O import-bop and a merge with the working tree and with an
# older revision, then `diff -r` the outputs.
#
# usage: bash scripts/diff_revisions.sh REV [OUT]        (e.g. REV = b5882b9; OUT = /tmp/revdiff)
#
# Needs the shared datasets in ../shared/datasets and the project's .venv. The older revision
# runs from a `git worktree` with the same virtualenv. Differences that are expected and
# reported apart: the `schema_version` that config.yaml and records gained (issue 21), and
# the absolute path inside yolo/data.yaml. Exit status 1 if anything else differs.
set -euo pipefail
REV=${1:?usage: diff_revisions.sh REV [OUT]}
OUT=${2:-/tmp/revdiff}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=$ROOT/.venv/bin/python
SHARED=$ROOT/../shared/datasets
rm -rf "$OUT"
mkdir -p "$OUT"
git -C "$ROOT" worktree add -q --detach "$OUT/tree" "$REV"
trap 'git -C "$ROOT" worktree remove --force "$OUT/tree"' EXIT

produce() {  # produce SRC_TREE DEST
    local tree=$1 dest=$2
    (
        cd "$tree"  # `python -m` puts the current folder first on sys.path
        export PYTHONPATH=$tree
        $PY -m simgen.cli render --out "$dest/render" --num 24 --workers 2 --quiet \
            --format yolo --format bop --set output.depth=true >/dev/null
        $PY -m simgen.cli composite --instances "$SHARED/magnetic-tile-dev/MT_Crack" \
            --backgrounds "$SHARED/magnetic-tile-dev/MT_Free" --out "$dest/composite" --num 12 \
            --quiet --config "$ROOT/configs/composite_thin_defects.yaml" >/dev/null
        $PY -m simgen.cli import-bop "$SHARED/lmo-dev/test" --models "$SHARED/lmo-dev/models" \
            --out "$dest/import" >/dev/null
        $PY -m simgen.cli merge "$dest/render" "$dest/composite" --out "$dest/merged" >/dev/null
    )
}

produce "$OUT/tree" "$OUT/before"
produce "$ROOT" "$OUT/after"

total=$(find "$OUT/after" -type f | wc -l)
differing=0
other=0
while read -r path; do
    differing=$((differing + 1))
    case $path in
        */yolo/data.yaml) continue ;;
        *.yaml) grep -v '^schema_version: [0-9]*$' "$OUT/after/$path" | cmp -s - "$OUT/before/$path" && continue ;;
        *.json) sed -E 's/"schema_version":[0-9]+,//' "$OUT/after/$path" | cmp -s - "$OUT/before/$path" && continue ;;
    esac
    other=$((other + 1))
    echo "differs: $path"
done < <(diff -rq "$OUT/before" "$OUT/after" | awk '/^Files/ {print $2}' | sed "s#^$OUT/before/##")
only=$(diff -rq "$OUT/before" "$OUT/after" | grep -c '^Only in' || true)
echo "$total files; $differing differ, of which $other beyond schema_version and yolo's path; $only only on one side"
[ "$other" -eq 0 ] && [ "$only" -eq 0 ]
