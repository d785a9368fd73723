#!/usr/bin/env bash
# Every check that needs a GPU, in one timed run: the test suite with CUDA as the default device,
# bench_fit.py (default against homan on whole clips), and synth-v1 with exact cues for default and homan.
#
#   benchmarks/gpu_checks.sh OUT [SECONDS] [HOMAN_CLIPS]
#
# OUT receives tests.log, bench_fit.jsonl, synth.log and records.tgz (the per-clip record.json files
# of `hofit bench synth`, readable with hoFit.eval.bench). SECONDS (default 500) bounds the whole run:
# every job is stopped in time, and a bench stopped early keeps the clips it finished. HOMAN_CLIPS
# (default 4) is how many synth-v1 clips homan fits, one process each; the GPU is shared by all jobs,
# so wall times are upper bounds of what one job alone would take.
set -u
out=${1:?usage: benchmarks/gpu_checks.sh OUT [SECONDS] [HOMAN_CLIPS]}
budget=${2:-500}
homan_clips=${3:-4}
mkdir -p "$out"
work=${TMPDIR:-/tmp}/hofit_gpu_checks
mkdir -p "$work"
start=$(date +%s)
left() { echo $((budget - ($(date +%s) - start) - 15)); }
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 HOFIT_CACHE_DIR="$work/cache"
hofit() { python -m hoFit.cli.main "$@"; }

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; python -c "import torch; print(torch.__version__)"; hofit info --device cuda; } >"$out/info.txt" 2>&1
cat "$out/info.txt"

# 1. the whole test suite; configs left on device "auto" run on the GPU
(timeout $(($(left) - 20)) python -m pytest -q -n 4 -p no:cacheprovider >"$out/tests.log" 2>&1
 echo "pytest exit $?" >>"$out/tests.log") &

# 2. bench_fit: default and homan on the same three 10-frame clips (whole clips: homan is affordable here)
(timeout $(($(left) - 20)) python benchmarks/bench_fit.py --device cuda --clips 3 --frames 10 --homan-clips 3 \
    --homan-frames 10 --data-dir "$work/bench_fit" >"$out/bench_fit.jsonl" 2>"$out/bench_fit.err") &

# 3. synth-v1, exact cues: generate in four processes, then default on all clips and homan on a few
data="$work/synth-v1"
names=$(python -c "from hoFit.data.synth.sets import set_configs; print(' '.join(c.name for c in set_configs('synth-v1')))" 2>>"$out/synth.log")
read -r -a clips <<<"$names"
for k in 0 1 2 3; do
    part=("${clips[@]:$((3 * k)):3}")
    timeout $(($(left) / 2)) python -m hoFit.cli.main synth --set synth-v1 --out "$data" --only "${part[@]}" -q >>"$out/synth.log" 2>&1 &
    gen[$k]=$!
done
wait "${gen[@]}"
echo "synth-v1 generated after $(($(date +%s) - start)) s" | tee -a "$out/synth.log"
join() { local IFS=,; echo "$*"; }
for k in 0 1 2; do
    timeout "$(left)" python -m hoFit.cli.main bench synth --set synth-v1 --data "$data" --preset default --noise 0 \
        --device cuda --clips "$(join "${clips[@]:$((4 * k)):4}")" --out "$work/default_$k" -q >>"$out/synth.log" 2>&1 &
    sleep 2
done
homan_picks=(0 5 8 10 3 1)  # cracker box, mug, mustard bottle, bleach bottle, can, sugar box
for ((k = 0; k < homan_clips; k++)); do
    clip=${clips[${homan_picks[$k]}]}
    timeout "$(left)" python -m hoFit.cli.main bench synth --set synth-v1 --data "$data" --preset homan --noise 0 \
        --device cuda --clips "$clip" --out "$work/homan_$k" -q >>"$out/synth.log" 2>&1 &
    sleep 2
done
wait
echo "all jobs done after $(($(date +%s) - start)) s" | tee -a "$out/synth.log"
(cd "$work" && tar czf "$out/records.tgz" $(find default_* homan_* -name record.json 2>/dev/null))
tail -n 3 "$out/tests.log"
grep -h '"summary"\|speed' "$out/bench_fit.jsonl"
