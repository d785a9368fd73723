#!/usr/bin/env bash
# Every check that needs a GPU, in one timed run:
#   1. bench_fit.py alone on the GPU: default against homan on the same whole clips (speed ratio, accuracy);
#   2. then, side by side: the fit tests with CUDA as the default device, and synth-v1 fitted by the default
#      preset with exact cues and at noise level 2 without its focal error, and by homan with exact cues.
#
#   benchmarks/gpu_checks.sh OUT [SECONDS] [HOMAN_CLIPS] [TESTS] [DEFAULT_LEVELS]
#
# OUT receives info.txt, bench_fit.jsonl, tests.log, synth.log and records.tgz (the per-clip record.json
# files of `hofit bench synth`, readable with hoFit.eval.bench). SECONDS (default 450) bounds the whole
# run: every job is stopped in time, and a bench stopped early keeps the clips it finished. HOMAN_CLIPS
# (default 0,5,8,10) are the synth-v1 clip indices homan fits, in up to four processes. TESTS (default
# tests/fit) are the test paths run on the GPU machine. DEFAULT_LEVELS (default 0,2) are the noise levels
# the default preset fits synth-v1 at (level 2 without its focal error). In step 2 all jobs share the GPU
# and the CPUs, so its wall times are upper bounds of what one job alone would take.
set -u
out=${1:?usage: benchmarks/gpu_checks.sh OUT [SECONDS] [HOMAN_CLIPS] [TESTS] [DEFAULT_LEVELS]}
budget=${2:-450}
IFS=, read -r -a homan_picks <<<"${3:-0,5,8,10}"
tests=${4:-tests/fit}
IFS=, read -r -a default_levels <<<"${5:-0,2}"
mkdir -p "$out"
work=${TMPDIR:-/tmp}/hofit_gpu_checks
mkdir -p "$work"
start=$(date +%s)
left() { echo $((budget - ($(date +%s) - start) - 15)); }
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 HOFIT_CACHE_DIR="$work/cache"
hofit() { python -m hoFit.cli.main "$@"; }
join() { local IFS=,; echo "$*"; }

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; hofit info --device cuda; } >"$out/info.txt" 2>&1
cat "$out/info.txt"

# synth-v1 is generated on six CPUs while bench_fit has the GPU to itself
data="$work/synth-v1"
names=$(python -c "from hoFit.data.synth.sets import set_configs; print(' '.join(c.name for c in set_configs('synth-v1')))")
read -r -a clips <<<"$names"
for k in 0 1 2 3 4 5; do  # six processes: the other CPUs stay free for bench_fit
    timeout $(($(left) / 2)) python -m hoFit.cli.main synth --set synth-v1 --out "$data" \
        --only "${clips[@]:$((2 * k)):2}" -q >>"$out/synth.log" 2>&1 &
done

# 1. bench_fit, alone on the GPU
timeout $(($(left) / 3)) python benchmarks/bench_fit.py --device cuda --clips 2 --frames 10 --homan-clips 2 \
    --homan-frames 10 --data-dir "$work/bench_fit" >"$out/bench_fit.jsonl" 2>"$out/bench_fit.err"
echo "bench_fit done after $(($(date +%s) - start)) s" | tee -a "$out/synth.log"
wait
echo "synth-v1 generated after $(($(date +%s) - start)) s" | tee -a "$out/synth.log"

# 2. tests and synth-v1 fits, side by side
(timeout $(($(left) - 10)) python -m pytest -q -n 3 -p no:cacheprovider $tests >"$out/tests.log" 2>&1
 echo "pytest exit $?" >>"$out/tests.log") &
bench() {  # preset noise tag clips... : one bench process
    local preset=$1 noise=$2 tag=$3; shift 3
    timeout "$(left)" python -m hoFit.cli.main bench synth --set synth-v1 --data "$data" --preset "$preset" \
        --noise "$noise" --noise-override focal_rel_error=0 --device cuda --clips "$(join "$@")" \
        --out "$work/$tag" -q >>"$out/synth.log" 2>&1 &
    sleep 1
}
for level in "${default_levels[@]}"; do
    for k in 0 1 2 3; do
        bench default "$level" "default${level}_$k" "${clips[@]:$((3 * k)):3}"
    done
done
# homan's fits take a few GiB each: twelve fit processes and the tests beside them once ran the 80 GiB of an
# H100 out, so homan's clips go to at most four processes
for k in 0 1 2 3; do
    mine=()
    for ((i = k; i < ${#homan_picks[@]}; i += 4)); do mine+=("${clips[${homan_picks[$i]}]}"); done
    if ((${#mine[@]})); then bench homan 0 "homan_$k" "${mine[@]}"; fi
done
wait
echo "all jobs done after $(($(date +%s) - start)) s" | tee -a "$out/synth.log"
(cd "$work" && tar czf "$out/records.tgz" $(find default* homan_* -name record.json 2>/dev/null))
tail -n 3 "$out/tests.log"
grep -h '"summary"\|speed' "$out/bench_fit.jsonl"
