"""NeuroPySim step 2: `python Chip.py [--trace DIR] [--preset NAME] [--set key=value ...]`.

Estimates area, latency and energy of a compute-in-memory chip for a trace folder and
writes results/<NET>/ (see `python Chip.py --help`), with the defaults of the
inferenceConfig.py beside this file. Never imports torch.
"""
import sys
from pathlib import Path

if __name__ == "__main__":
    try:
        from contracts.exits import imports_whole
        with imports_whole():
            import chip.cli
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C); no results written", file=sys.stderr)
        raise SystemExit(130)
    raise SystemExit(chip.cli.main(user_config=Path(__file__).with_name("inferenceConfig.py")))
