#!/usr/bin/env bash
# One device call (<= 9 min on one H100): train the `gpu` preset of every model that
# exists on the one GPU (TRAIN_GROUPS: one after another or side by side), each with
# --time-budget; evaluate each with
# `t2v-edu evaluate`; write checkpoints, model cards, evaluation JSON, throughput and
# TFLOP/s and a log to $OUT. Runs from the source tree with only torch, numpy,
# matplotlib, imageio and tqdm installed (PYTHONPATH=., nothing to pip install).
#
#   OUT=$OUT PACK=1 TRAIN_GROUPS="classic;modern seed" MINUTES_classic=5 \
#       MINUTES_modern=1.5 MINUTES_seed=1.5 bash benchmarks/gpu_train.sh   # the real run
#   OUT=/tmp/out T2V_DEVICE=cpu PRESET=cpu MINUTES=0.3 EVAL_VIDEOS=8 \
#       CEILING_VIDEOS=8 bash benchmarks/gpu_train.sh              # rehearsal on a CPU
#
# Settings (environment): MINUTES training budget per model (6.5), MINUTES_<model> for
# one model (e.g. MINUTES_classic=5), PRESET (gpu),
# MODELS (default: every model whose module exists), TRAIN_GROUPS (default: all of
# MODELS in one group; not GROUPS, which bash reserves for the user's group ids and
# silently keeps): groups separated by ";" train one after another, the models of a group
# at the same time, e.g. TRAIN_GROUPS="classic;modern seed" gives the classic model the
# whole GPU first, then trains the other two side by side. EVAL_VIDEOS per split (512),
# CEILING_VIDEOS (256), VARIANTS: an entry MODEL-NAME in MODELS or TRAIN_GROUPS (e.g.
# classic-share30) trains MODEL again with SET_<MODEL>_<NAME>="field=value ..." passed as
# `t2v-edu train --set` options (e.g. SET_classic_share30="two_object_prob=0.3"), into
# $OUT/MODEL-NAME and weights/MODEL-NAME_<preset>.*; the per-model settings below take the
# entry with "-" written "_" (MINUTES_classic_share30). So one call compares two settings side
# by side on the one GPU; `gpu_report.py --ship OUT/weights/MODEL-NAME_<preset>.pt` ships
# the winner under the name the package loads.
# INIT_FROM_<model> (a model.pt to continue from) with FROM_STAGE_<model>
# (e.g. transformer: skip the stages before it), BATCH_<model> (videos per step of every
# stage; default the preset's), PROBE (0; 1: first time the real training step of each stage
# of MODELS with benchmarks/step_probe.py at PROBE_BATCHES, default the preset's, into
# $OUT/probe.md: ms per step, the CPU's share, GPU waits; ~30 s), TRAIN_SEED (SEED; another seed for a
# continuation gives it fresh data), NVSMI_SECONDS (5: nvidia-smi samples the GPU's use
# this often into $OUT/nvsmi.csv, until the evaluations end; the summary gives the median
# and mean while a process holds GPU memory; 0: off), PACK (0; 1: end with only results.tar.gz and the .pt files
# in $OUT, for a device tool that returns few files), SEED (0), EXTRA_SECONDS (120: a training run is stopped at
# MINUTES plus this, in case it hangs), EVAL_SECONDS (300: the same for evaluation),
# T2V_DATA_WORKERS (data workers per training run; default half the cores shared by the
# runs of a group, at most 8 each). Timing, measured (3.5 min alone, 2026-11-27): ~11 s
# start + each group's longest MINUTES + ~17 s of saving per group + evaluation (~25 s
# per model at 512 videos per split) + binding test and report (~15 s): MINUTES + ~70 s
# for one model, MINUTES + ~2 min for two side by side.
#
# Results: $OUT/<model>/{model.pt,model.json,model.md,metrics.jsonl,train.log,
# evaluation.json,evaluation.md,ceiling.json}, $OUT/classic/binding.{md,json} (the binding
# test, benchmarks/binding_test.py), $OUT/weights/<model>_<preset>.{pt,json,md}
# (copy these into t2v_edu/weights/), $OUT/summary.{json,md}, $OUT/log.txt.
# DEADLINE_SECONDS (0: none): stop everything this many seconds after the start, e.g. 590
# for a device call limited to 600 s; a TERM or INT signal does the same. What is done is
# kept, and with PACK=1 packed: the weights already exported, else each run's model.pt as
# <run>_model.pt (its .sha256 in the archive), so trained weights survive a late stop.
# Exit status: 2 when a setting is wrong (nothing is trained), 3 when stopped by
# DEADLINE_SECONDS or a signal, 1 when a model failed to train or evaluate (the others'
# results are still written), else 0.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
OUT=${OUT:?set OUT to the output folder}
MINUTES=${MINUTES:-6.5}
PRESET=${PRESET:-gpu}
EVAL_VIDEOS=${EVAL_VIDEOS:-512}
CEILING_VIDEOS=${CEILING_VIDEOS:-256}
SEED=${SEED:-0}
TRAIN_SEED=${TRAIN_SEED:-$SEED}
EXTRA_SECONDS=${EXTRA_SECONDS:-120}
EVAL_SECONDS=${EVAL_SECONDS:-300}
PY=${PYTHON:-$(command -v python || command -v python3)}
mkdir -p "$OUT"
if [ -n "$(ls -A "$OUT")" ]; then   # its runs, weights and clean-up assume a fresh folder
    echo "gpu_train.sh: OUT=$OUT is not empty; give a new or empty folder" >&2
    exit 2
fi
LOG="$OUT/log.txt"
log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$LOG"; }

# -- PACK=1: leave only what the device tool brings back (at most 8 files) ------------
# $OUT/results.tar.gz (logs, cards, evaluations, summary) + weights/<run>_<preset>.pt, or
# <run>_model.pt for a run stopped before its weights were exported
pack() {
    [ "${PACK:-0}" = 1 ] || return 0
    local keep run
    keep=$(mktemp -d "$OUT/.pack.XXXXXX")   # beside the results: a move, not a copy
    for run in "$OUT"/*/; do
        run=$(basename "$run")
        [ "$run" = weights ] && continue
        if [ ! -f "$OUT/weights/${run}_$PRESET.pt" ] && [ -f "$OUT/$run/model.pt" ]; then
            mv "$OUT/$run/model.pt" "$keep/${run}_model.pt"
        fi
    done
    tar -czf "$keep/results.tar.gz" -C "$OUT" --exclude='*.pt' --exclude="./${keep##*/}" .
    mv "$OUT"/weights/*.pt "$keep"/ 2>/dev/null
    rm -rf "${OUT:?}"/*
    mv "$keep"/* "$OUT"/
    rmdir "$keep"
    ls -l "$OUT"
}

drop_resume_state() { rm -f "$OUT"/*/train_state.pt "$OUT"/*/train_state.pt.sha256; }

# -- DEADLINE_SECONDS, TERM, INT: stop the jobs, keep (and pack) what is done ---------
stop() {
    trap - TERM INT
    log "gpu_train.sh: stopped (${1}); keeping what is done"
    kill $(jobs -p) 2>/dev/null      # training, evaluation, nvidia-smi, the timer
    wait 2>/dev/null
    drop_resume_state
    pack
    exit 3
}
trap 'kill $(jobs -p) 2>/dev/null' EXIT   # no job outlives the script
trap 'stop "signal TERM"' TERM
trap 'stop "signal INT"' INT
DEADLINE_SECONDS=${DEADLINE_SECONDS:-0}
if [ "$DEADLINE_SECONDS" != 0 ]; then
    (trap 'kill $! 2>/dev/null; exit' TERM; sleep "$DEADLINE_SECONDS" & wait $!
     kill -USR1 $$) &
    trap 'stop "DEADLINE_SECONDS=$DEADLINE_SECONDS reached"' USR1
fi
# Long steps run as background jobs that the script waits for: bash runs a trap at once
# during `wait`, but only after a foreground command ends.
waited() { "$@" & wait $!; }

log "gpu_train.sh: preset=$PRESET minutes=$MINUTES eval_videos=$EVAL_VIDEOS seed=$SEED train_seed=$TRAIN_SEED"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
    --format=csv,noheader >> "$LOG" 2>&1
$PY - >> "$LOG" 2>&1 <<'EOF'
import platform, torch, t2v_edu
print("python", platform.python_version(), "torch", torch.__version__,
      "cuda", torch.cuda.is_available(), "device", t2v_edu.pick_device())
EOF
MODELS=${MODELS:-$($PY -c "from t2v_edu.training import available_models; print(' '.join(available_models()))")}
log "models: $MODELS"

# -- check the settings before the GPU time is spent ---------------------------------
TRAIN_GROUPS=${TRAIN_GROUPS:-$MODELS}
if ! $PY benchmarks/gpu_report.py --check-groups "$TRAIN_GROUPS" --preset "$PRESET" \
        2>&1 | tee -a "$LOG"; then
    log "gpu_train.sh: nothing trained (fix the settings above)"
    exit 2
fi

# -- NVSMI_SECONDS (5; 0: off): GPU utilisation samples into $OUT/nvsmi.csv -----------
NVSMI_PID=""
if [ "${NVSMI_SECONDS:-5}" != 0 ] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used,power.draw --format=csv \
        -l "${NVSMI_SECONDS:-5}" > "$OUT/nvsmi.csv" 2>&1 &
    NVSMI_PID=$!      # stopped by its pid (a `pkill -f nvidia-smi` also kills the shell
fi                    # that typed it); stop() and the end of this script stop it

# -- PROBE=1: where a training step's time goes, before the training ------------------
if [ "${PROBE:-0}" = 1 ]; then
    for m in $(for e in $MODELS; do echo "${e%%-*}"; done | sort -u); do   # variants: once
        waited timeout 120 $PY benchmarks/step_probe.py --model "$m" --preset "$PRESET" \
            ${PROBE_BATCHES:+--batch-sizes $PROBE_BATCHES} --out "$OUT/probe_$m.json" \
            > "$OUT/probe_$m.txt" 2>&1 || log "probe of $m FAILED (training goes on)"
        tee -a "$OUT/probe.md" "$LOG" < "$OUT/probe_$m.txt"
    done
fi

# -- train: the groups one after another, the models of a group at once --------------
key_of() { echo "${1//-/_}"; }                       # classic-share30 -> classic_share30
minutes_of() { local v="MINUTES_$(key_of "$1")"; echo "${!v:-$MINUTES}"; }
declare -A PIDS
TRAINED=""
FAILED=0
IFS=';' read -ra GROUP_LIST <<< "$TRAIN_GROUPS"
for group in "${GROUP_LIST[@]}"; do
    read -ra members <<< "$group"   # the runs of a group share the cores like processes
    workers=$($PY -c "import torch; from t2v_edu.training import Distributed, data_workers
print(data_workers(torch.device('cuda'), Distributed(0, ${#members[@]})))") \
        || { log "gpu_train.sh: nothing trained (fix T2V_DATA_WORKERS)"; exit 2; }
    for m in $group; do
        mkdir -p "$OUT/$m"
        minutes=$(minutes_of "$m")
        limit=$($PY -c "print(int(float('$minutes') * 60 + $EXTRA_SECONDS))")  # a hung run cannot eat the call
        k=$(key_of "$m")
        extra=()   # INIT_FROM_<model>, FROM_STAGE_<model> (continue from a checkpoint), BATCH_<model>
        v="INIT_FROM_$k"; [ -n "${!v:-}" ] && extra+=(--init-from "${!v}")
        v="FROM_STAGE_$k"; [ -n "${!v:-}" ] && extra+=(--from-stage "${!v}")
        v="BATCH_$k"; [ -n "${!v:-}" ] && extra+=(--batch-size "${!v}")
        v="SET_$k"; for item in ${!v:-}; do extra+=(--set "$item"); done
        T2V_DATA_WORKERS=$workers \
        timeout "$limit" $PY -m t2v_edu.cli train --model "${m%%-*}" --preset "$PRESET" \
            --out "$OUT/$m" --time-budget "$minutes" --seed "$TRAIN_SEED" --no-progress \
            --sample-every 0 --save-every 1000 "${extra[@]}" > "$OUT/$m/train.log" 2>&1 &
        PIDS[$m]=$!
        log "train $m started for $minutes min (pid ${PIDS[$m]}, T2V_DATA_WORKERS=$workers)"
    done
    for m in $group; do
        if wait "${PIDS[$m]}"; then
            TRAINED="$TRAINED $m"
            log "train $m done: $(tail -n 1 "$OUT/$m/train.log")"
        else
            log "train $m FAILED (exit $?); last lines:"
            FAILED=1
            tail -n 20 "$OUT/$m/train.log" | tee -a "$LOG"
        fi
    done
done
drop_resume_state   # the optimiser state for --resume: not shipped

# -- evaluate, all models at once --------------------------------------------------
for m in $TRAINED; do
    timeout "$EVAL_SECONDS" $PY -m t2v_edu.cli evaluate --model "${m%%-*}" \
        --checkpoint "$OUT/$m/model.pt" \
        --num-videos "$EVAL_VIDEOS" --batch-size 256 --seed "$SEED" \
        --out "$OUT/$m/evaluation.json" > "$OUT/$m/evaluation.md" 2>&1 &
    PIDS[$m]=$!
done
for m in $TRAINED; do
    if wait "${PIDS[$m]}"; then
        log "evaluate $m done"
    else
        log "evaluate $m FAILED (exit $?)"
        FAILED=1
    fi
    cat "$OUT/$m/evaluation.md" >> "$LOG"
done

# -- the binding test of the classic model (likelihoods, no sampling; seconds on a GPU) --
for m in $TRAINED; do
    [ "${m%%-*}" = classic ] || continue
    waited timeout 180 $PY benchmarks/binding_test.py --checkpoint "$OUT/$m/model.pt" \
        --seed "$SEED" --out "$OUT/$m/binding.json" > "$OUT/$m/binding.md" 2>&1 \
        || log "binding test of $m FAILED (exit $?)"
    cat "$OUT/$m/binding.md" >> "$LOG"
done

# -- reconstruction ceilings, shippable weights + cards, summary ----------------------
if [ -n "$NVSMI_PID" ]; then   # the report reads a complete nvsmi.csv
    kill "$NVSMI_PID" 2>/dev/null; wait "$NVSMI_PID" 2>/dev/null
fi
waited timeout 120 $PY benchmarks/gpu_report.py "$OUT" --preset "$PRESET" \
    --ceiling-videos "$CEILING_VIDEOS" > "$OUT/report.txt" 2>&1 || FAILED=1
tee -a "$LOG" < "$OUT/report.txt"
kill $(jobs -p) 2>/dev/null          # the DEADLINE_SECONDS timer, before its trap goes
wait 2>/dev/null
trap - TERM INT USR1
log "gpu_train.sh finished"
pack
exit $FAILED
