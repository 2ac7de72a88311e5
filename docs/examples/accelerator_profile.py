"""neuropysim.Accelerator in a script (no notebook): LeNet-5 on a realistic RRAM chip.

    python docs/examples/accelerator_profile.py [EVAL_IMAGES]

Loads the shipped LeNet-5, puts it on the default 22 nm RRAM chip with the 'rram-write-verify'
device preset (contracts.presets), reads it in parallel with a 5-bit ADC, injects 1 % stuck-at
faults, scores EVAL_IMAGES test digits (default 1000) with the hardware in the loop and prints
the accuracy three ways and every statistic of the chip (docs/accelerator.md).
"""
import sys

from neuropysim import Accelerator
from neuropysim.statistics import format_statistics

eval_images = int(sys.argv[1]) if len(sys.argv) > 1 else 1000

acc = Accelerator("lenet5", preset="rram-write-verify", seed=0)
acc.configure(operation_mode="parallel", adc_bits=5)
hit = acc.inject_faults(0.01, kind="stuck_at")
print(f"stuck-at cells on the programmed chip: {hit}")

profile = acc.profile("mnist5k", eval_images=eval_images)
a = profile.accuracy
print(f"accuracy on {profile.eval_images} images: float {100 * a['float']:.2f} %, "
      f"quantized {100 * a['quantized']:.2f} %, hardware {100 * a['hardware']:.2f} %")
for line in format_statistics(acc.statistics()):
    print(line)
