"""Circuit components of step 2: one module per peripheral, all with the interface of
`chip.components.base.Component` (docs/chip-internals.md): explicit activity keywords, a
misspelt one is a TypeError.

Leaf blocks: array, switch_matrix (SwitchMatrix, NewSwitchMatrix), decoder (RowDecoder),
mux, adc (FlashADC, SarADC), sense_amp (SenseAmp, Precharger, SRAMWriteDriver),
level_shifter, adder, dff, shift_add. Chip-level blocks: adder_tree, buffer, max_pool,
activation, and the interconnects (interconnect.Interconnect: bus.Bus, htree.HTree,
xybus.XYBus). Composite: subarray.SubArray. Every deliberate difference from DNN+NeuroSim
V1.4 is a named quirk in `chip.compat.QUIRKS`, asked with ``ctx.quirk(name)``.
"""
