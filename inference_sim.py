"""Step 1 of NeuroPySim: hardware-in-the-loop inference and trace recording.

    python inference_sim.py                      # default network/data/hardware of inferenceConfig.py
    python inference_sim.py --network vgg8 --dataset synthetic --set operation_mode=parallel
    python inference_sim.py --train              # quantization-aware training, then the run

Writes the trace to layer_record_<NET>/ and the accuracy report to results/<net>/accuracy.json
(existing folders are rewritten only when empty or written by this tool; the user's own files
in them are kept), with the defaults of the inferenceConfig.py beside this file.
From Python: ``inference_sim.run(config, network=..., dataset=...) -> InferenceResult``.
All logic lives in cim/ (cim.run, cim.cli); this file only forwards.
"""
import sys
from pathlib import Path

__all__ = ["main", "run", "InferenceResult"]


def main(argv=None) -> int:
    from contracts.exits import imports_whole
    with imports_whole():
        from cim.cli import main as cli_main
    return cli_main(argv, user_config=Path(__file__).with_name("inferenceConfig.py"))


def __getattr__(name):                  # run / InferenceResult load torch: only when asked
    if name in ("run", "InferenceResult"):
        import cim.run
        return getattr(cim.run, name)
    raise AttributeError(f"module 'inference_sim' has no attribute {name!r}")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:           # during the imports, before cim.cli handles it
        print("inference_sim.py: interrupted (Ctrl-C); nothing written", file=sys.stderr)
        sys.exit(130)
