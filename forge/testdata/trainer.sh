#!/bin/sh
# A scripted trainer for the Forge's tests: sh trainer.sh MODE DATASET OUT PEFT.
# Each mode is one path of the trainer contract (DESIGN.md, "The Forge");
# the adapter it leaves is a copy of the PEFT folder PEFT.
mode=$1 dataset=$2 out=$3 peft=$4
test -d "$dataset" || { echo "no dataset $dataset"; exit 9; }
artifacts() {
	cp "$peft/adapter_config.json" "$peft/adapter_model.safetensors" "$out/"
	echo '{"val_loss": 0.5, "val_loss_base": 1.25, "train_loss": 0.4, "steps": 3}' > "$out/metrics.json"
}
case $mode in
success)
	for i in 1 2 3; do echo "{\"step\":$i,\"steps\":3,\"loss\":1.$i,\"lr\":0.0002,\"eta_s\":$((3-i))}"; done
	artifacts ;;
garbage)
	echo 'loading model...'
	echo '{"step": 1, "steps"'
	echo 'not json {'
	printf '{"step":2,"steps":3,"loss":0.9}\n{"unrelated":true}\n'
	printf '{"step":3,"steps":3,"loss":0.5,"lr":0.0001,"eta_s":0}'
	artifacts ;;
fail)
	echo '{"step":1,"steps":3,"loss":2.0}'; echo 'CUDA out of memory' >&2; exit 3 ;;
crash)
	echo '{"step":1,"steps":3,"loss":2.0}'; kill -9 $$ ;;
worse)
	echo '{"step":1,"steps":1,"loss":3.0}'
	artifacts
	echo '{"val_loss": 2.5, "val_loss_base": 1.25}' > "$out/metrics.json" ;;
noartifacts)
	echo '{"step":3,"steps":3,"loss":0.1}' ;;
hang)
	echo '{"step":1,"steps":100,"loss":2.0}'; exec sleep 600 ;;
wait)
	# Step 1, then wait for the test to release it (a file beside out).
	echo '{"step":1,"steps":2,"loss":1.5}'
	# A test that ended without releasing it took its folder away: stop
	# then, instead of polling for ever.
	jobdir=$(dirname "$out")
	while [ ! -f "$jobdir/release" ]; do
		[ -d "$jobdir" ] || exit 1
		sleep 0.02
	done
	echo '{"step":2,"steps":2,"loss":0.5}'
	artifacts ;;
esac
