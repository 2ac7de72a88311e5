"""NeuroPySim step 2: `python Chip.py [--trace DIR] [--preset NAME] [--set key=value ...]`.

Estimates area, latency and energy of a compute-in-memory chip for a trace folder and
writes results/<NET>/ (see `python Chip.py --help`). Never imports torch.
"""
import chip.cli

if __name__ == "__main__":
    raise SystemExit(chip.cli.main())
