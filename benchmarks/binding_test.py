"""The binding test of a classic (likelihood) checkpoint: does it know which shape goes
with which colour in a two-object caption? (``t2v_edu.evaluation.binding_test``)

For each caption the model scores the right video and a wrong one, drawn at the same
positions and speeds, by -log p(video | caption) (``TextToVideo.nll``: one forward pass,
no sampling). Prints a Markdown table; chance is 50 %. Then the caption probe
(``evaluation.caption_probe``): does the caption encoder's feature of a colour word
carry the shape of its own object, or of both?

    python benchmarks/binding_test.py                                # the shipped GPU model
    python benchmarks/binding_test.py --checkpoint runs/x/model.pt --split heldout

The shipped classic_gpu.pt on 2 CPU cores: about 1 min per split with 128 captions.
A checkpoint whose data has one object per caption (the cpu preset) has no binding to
test: the script says so and exits 0.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _args import usable_device, whole  # noqa: E402
from t2v_edu import data, evaluation, generation, pick_device, setup  # noqa: E402
from t2v_edu.training import load_model  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", default=None,
                        help="a classic model.pt (default: the shipped classic_gpu.pt)")
    parser.add_argument("--split", nargs="+", choices=data.SPLITS, default=["test", "heldout"])
    parser.add_argument("--num-captions", type=whole(1), default=128)
    parser.add_argument("--seed", type=whole(0), default=0)
    parser.add_argument("--device", type=usable_device, default=None)
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    setup(seed=0, quiet=True)
    path = args.checkpoint or generation.default_checkpoint("classic", "gpu")
    if path is None:
        parser.error("no --checkpoint given and no shipped classic_gpu.pt")
    device = pick_device(args.device)
    model, preset, _ = load_model(path, device=device, expected_model="classic")
    if data.get_spec(preset.data_spec).max_objects < 2:
        print(f"{path}: its data (spec {preset.data_spec!r}) has one object per caption; "
              "there is no binding to test.")
        return 0
    results = []
    for split in args.split:
        result = evaluation.binding_test(model.nll, preset.data_spec, split,
                                         args.num_captions, args.seed)
        results.append(result)
        print(evaluation.format_binding(result), flush=True)
    probe = evaluation.caption_probe(model.encode_text, model.vocab, preset.data_spec,
                                     seed=args.seed)
    print(evaluation.format_caption_probe(probe), flush=True)
    if args.out:
        evaluation.save_json({"checkpoint": Path(path).name, "results": results,
                              "caption_probe": probe}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
