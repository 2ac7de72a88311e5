"""Step 1: hardware-in-the-loop inference (quantizers, bit slicing, ADC, device effects)
and the trace writer.

Kept free of eager torch imports so that step 2 can read traces (`contracts.trace`) without torch.
"""
