#!/usr/bin/env bash
# The driver of `make test` (the Makefile's test target calls it): runs each part with
# `make test-<part>`, in the order given, and prints each part's time.
#
#   tools/test_parts.sh LOGDIR PART...
#
# Parts named in SIDE_BY_SIDE (environment, space-separated) that follow one another run at
# the same time: first `make test-<part>-install` for each of them, one after the other (they
# install into the same .venv), then the parts themselves, each writing into LOGDIR/<part>.log,
# which is printed whole once all of them have ended, in the order given. The Makefile's
# TEST_SIDE_BY_SIDE says which parts run so, and why.
# It stops after the first part (or side-by-side group) that fails, unless KEEP_GOING is set;
# the exit code is that of the last part that failed, 0 if none did.
set -u
logdir=$1
shift
make=${MAKE:-make}
side=" ${SIDE_BY_SIDE:-} "
mkdir -p "$logdir"
rc=0
times=""

# Group the parts: consecutive parts that are all in SIDE_BY_SIDE form one group.
groups=()
for part in "$@"; do
  last=$(( ${#groups[@]} - 1 ))
  if [[ $side == *" $part "* && $last -ge 0 && $side == *" ${groups[$last]%%+*} "* ]]; then
    groups[$last]="${groups[$last]}+$part"
  else
    groups+=("$part")
  fi
done

for group in "${groups[@]}"; do
  IFS=+ read -r -a parts <<< "$group"
  t0=$(date +%s)
  failed=0
  if [ ${#parts[@]} = 1 ]; then
    prc=0
    $make --no-print-directory "test-$group" || prc=$?
    times="$times, test-$group $(( $(date +%s) - t0 )) s"
    if [ $prc != 0 ]; then rc=$prc; failed=1; times="$times (failed)"; fi
  else
    for part in "${parts[@]}"; do
      prc=0
      $make --no-print-directory "test-$part-install" || prc=$?
      if [ $prc != 0 ]; then rc=$prc; failed=1; times="$times, test-$part-install (failed)"; fi
    done
    if [ $failed = 0 ]; then
      pids=()
      for part in "${parts[@]}"; do
        rm -f "$logdir/$part.status"
        ( s=$(date +%s); r=0
          $make --no-print-directory "test-$part" > "$logdir/$part.log" 2>&1 || r=$?
          echo "$r $(( $(date +%s) - s ))" > "$logdir/$part.status" ) &
        pids+=($!)
      done
      wait "${pids[@]}"
      for part in "${parts[@]}"; do
        echo "==== make test-$part (side by side with the other parts of: ${parts[*]})"
        cat "$logdir/$part.log"
        read -r r s < "$logdir/$part.status" || { r=1; s="?"; }
        times="$times, test-$part $s s"
        if [ "$r" != 0 ]; then rc=$r; failed=1; times="$times (failed)"; fi
      done
      times="$times (${parts[*]} side by side: $(( $(date +%s) - t0 )) s, installs included)"
    fi
  fi
  if [ $failed = 1 ] && [ -z "${KEEP_GOING:-}" ]; then break; fi
done
echo "make test: ${times#, }"
exit $rc
