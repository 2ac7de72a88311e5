"""Step 1 of NeuroPySim: hardware-in-the-loop inference and trace recording.

    python inference_sim.py                      # default network/data/hardware of inferenceConfig.py
    python inference_sim.py --network vgg8 --dataset synthetic --set operation_mode=parallel
    python inference_sim.py --train              # quantization-aware training of the default network

Writes the trace to layer_record_<NET>/ and the accuracy report to results/<net>/accuracy.json
(existing folders are replaced only when empty or written by this tool).
From Python: ``inference_sim.run(config, network=..., dataset=...) -> InferenceResult``.
All logic lives in cim/ (cim.run, cim.cli); this file only forwards.
"""
import sys

from cim.cli import main
from cim.run import InferenceResult, run

__all__ = ["main", "run", "InferenceResult"]

if __name__ == "__main__":
    sys.exit(main())
