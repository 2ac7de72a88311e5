"""Named DNN+NeuroSim V1.4 conventions that ``compat="neurosim-1.4"`` switches on.

Every place where NeuroPySim's default (corrected) model deliberately differs from NeuroSim
V1.4 is one named *quirk* here. ``compat="neurosim-1.4"`` switches all of them on (to
reproduce NeuroSim's published numbers); ``compat_quirks="name1,name2"`` switches on only
the named ones on top of the default model, so the effect of each difference can be measured
alone (benchmarks/neurosim_differences.py, docs/neurosim-differences.md).

Code asks ``quirk_on(config, name)`` (or ``ctx.quirk(name)`` on a `chip.technology`
TechContext); an unknown name is a programming error (KeyError), an unknown name in
``config.compat_quirks`` is a ConfigError (raised when step 2 first asks).

This module must not import torch (Chip.py starts without it).
"""
from __future__ import annotations

from dataclasses import dataclass

from contracts.config import ConfigError

__all__ = ["FIGURES", "Quirk", "QUIRKS", "ENGINE_QUIRKS", "active_quirks", "check_quirks",
           "engine_quirk_names", "markdown_table", "quirk_on", "parse_quirks"]


#: Summary figures a quirk can move (``Quirk.figures``), each naming summary.json entries:
#: area (area_mm2 and its breakdown), clock (clock_period_ns), latency
#: (latency_per_image_ns, fps), dynamic_energy (dynamic_energy_per_image_pJ and its
#: breakdown), leakage (leakage_power_uW, leakage_energy_per_image_pJ), utilization
#: (memory_utilization, num_tiles), tops (ops_per_image, tops), tops_per_w, write
#: (write_energy_pJ, write_latency_ns). A quirk declares the figures it moves itself; the
#: figures computed from them follow without being declared: the clock sets the latency and
#: the SRAM write time, the latency the leakage energy, the average leakage power and the
#: throughput, any energy or operation count TOPS/W, and the area the bus lengths (bus
#: energy, leakage and latency). tests/test_compat_quirks.py holds every quirk to this.
FIGURES = ("area", "clock", "latency", "dynamic_energy", "leakage", "utilization", "tops",
           "tops_per_w", "write")


@dataclass(frozen=True)
class Quirk:
    """One NeuroSim V1.4 convention: what it does, why ours differs, what it moves."""

    description: str          # what NeuroSim does
    ours: str                 # what we do instead, and why it is right
    figures: tuple[str, ...]  # summary figures it moves (FIGURES)
    source: str               # where it is documented (reference / tables section)
    where: str                # where it is implemented here

    def __post_init__(self) -> None:
        unknown = [f for f in self.figures if f not in FIGURES]
        if unknown:
            raise ValueError(f"Quirk.figures: unknown figure {unknown[0]!r}; known: "
                             f"{', '.join(FIGURES)}")


_A, _L, _E, _K, _C, _U = "area", "latency", "dynamic_energy", "leakage", "clock", "utilization"
_W = "write"

QUIRKS: dict[str, Quirk] = {
    # --- mapping and counting ------------------------------------------------------------
    "padding_ignored_vectors": Quirk(
        "input vectors per image = ((H-K+1)/s) x ((W-K+1)/s) with integer division: the "
        "padded border positions are not counted",
        "one input vector per output position of the padded input (what the layer computes)",
        (_L, _E, _K), "reference §7 (mapping)", "chip/mapping.py _input_vectors"),
    "ops_from_input_size": Quirk(
        "operations = 2 IFM_H IFM_W Cin K_H K_W Cout (input size, stride ignored)",
        "operations = 2 x MACs from the output size (what the layer computes)",
        ("tops_per_w", "tops"), "tables §5.11 (metrics)", "chip/mapping.py _ops"),
    "square_subarray_sizing": Quirk(
        "tile and PE sizes are searched in cells assuming square sub-arrays (numCol = numRow); "
        "a PE's area, adder tree and registers are laid out for a square grid of "
        "ceil(sqrt(n))^2 sub-arrays, n = ceil(PE/numRow) x ceil(PE/numCol) (Tile.cpp)",
        "tile/PE sizes in whole sub-arrays of the configured rows x cols (non-square works); "
        "a PE holds exactly its grid of sub-arrays",
        (_A, _U, _L, _E, _K, _W), "reference §7, Chip.cpp / Tile.cpp (TileInitialize, "
        "TileCalculateArea)", "chip/mapping.py map_network, chip/chip_model.py, chip/mapping.py"),
    "novel_mapping_row_blocks": Quirk(
        "a novel-mapped layer's PE k holds the contiguous unrolled rows k*Cin ... (k+1)*Cin - 1 "
        "(ReshapeArray / ReshapeInput assume the row order k*Cin + c): every PE mixes kernel "
        "positions and channels, which changes which rows share a sub-array read",
        "PE k holds kernel position k of every channel, rows c*K*K + k (the trace's "
        "PyTorch order)", (_E,), "reference §9, Chip.cpp (ReshapeArray, ReshapeInput)",
        "chip/mapping.py row_groups"),
    "duplication_copies": Quirk(
        "memory utilization counts max(speed-up, duplication) weight copies",
        "counts the copies physically allocated (duplication x replication)",
        (_U,), "reference §7 (floorplan)", "chip/mapping.py map_network"),
    "neurosim_table_shape": Quirk(
        "a layer is sized and run with the channel counts of its NetWork csv row even where "
        "they disagree with its weight trace (DenseNet40's table gives the 3x3 bottleneck "
        "convs Cout = channels after the concatenation, 36 ... 132, its traces hold 12 "
        "filters): the columns the trace lacks are mapped and read as zero weights, missing "
        "input channels as zero weights and inputs",
        "the layer as its weights are: the table's extra channels are not hardware the "
        "network uses (the import warns and keeps both shapes)",
        (_A, _U, _L, _E, _K, "tops", _W),
        "Chip.cpp (weightMatrixCol from netStructure; LoadInWeightData reads the file's own "
        "columns), issue 16", "chip/mapping.py priced_trace, contracts/trace.py table_view"),
    "activity_counting": Quirk(
        "the trace is consumed as NeuroSim does: ((H-K+1)/s)^2 vectors, the whole column's "
        "conductance evaluated numAdd times (eNVM: / numAdd; SRAM: not divided, and every "
        "active row conducts whatever the stored bit), every sub-array row group read even "
        "when unused, all-zero input reads converted at R = inf",
        "each partial read with its own conductance (SRAM: the cells storing a 1), only used "
        "row groups, all-zero reads skipped (their result is known), one vector per output "
        "position", (_E, _L), "reference §6-7, tables §5.10, ProcessingUnit.cpp "
        "(GetColumnResistance)", "chip/activity.py layer_activity"),
    # --- technology ----------------------------------------------------------------------
    "cell_wire_pieces": Quirk(
        "per-cell wire resistance uses the wire width as F and swaps cell height and width",
        "a WL crosses a cell along its width (Metal1), a BL along its height (Metal0), at "
        "the node's F", (_E,), "tables §2.2, §7.4", "chip/technology.py"),
    "wire_barrier_correction": Quirk(
        "the wire barrier-layer correction mixes nm and m, so it vanishes",
        "the barrier correction applied in consistent units", (_A, _C, _E, _L, _K),
        "tables §7.3", "chip/technology.py"),
    # --- formula engine (from_neurosim/src, flags of its Technology: EngineQuirks) --------
    "fin_fold_count_floor": Quirk(
        "a FinFET/GAA device wider than a finger's fins folds into ceil(int/int) fingers, "
        "i.e. floor(n_fin / fins per finger): 5 fins at 4 per finger make 1 finger",
        "the true ceiling: 5 fins at 4 per finger need 2 fingers", (_A, _E, _C),
        "formula.cpp (CalculateGateArea, CalculateGateCapacitance)",
        "from_neurosim/src/formula.cpp advanced_layout"),
    "gaa_nmos_drain_generic_gap": Quirk(
        "a GAA NMOS drain/source finger is as wide as the generic FinFET gate gap "
        "(MIN_GAP_BET_GATE_POLY_FINFET = 3.9 F), the PMOS one as the node's CPP - poly width",
        "both devices use the node's gap (15.5 F at 2 nm, 28 F at 1 nm)", (_A, _E, _C),
        "formula.cpp (CalculateGateCapacitance, GAA branch)",
        "from_neurosim/src/formula.cpp advanced_layout"),
    "inv_nmos_sidewall_pmos_folds": Quirk(
        "an inverter's NMOS drain sidewall is counted with the PMOS fold count (1 when the "
        "gate has no PMOS), so a folded NMOS-only device loses a sidewall",
        "each device's sidewall with its own fold count", (_E, _C),
        "formula.cpp (CalculateGateCapacitance, INV)",
        "from_neurosim/src/formula.cpp output_cap"),
    "finfet_gm_fin_geometry": Quirk(
        "FinFET transconductance per fin = gm x (2 h_fin + w_fin), with h_fin never set at 5 "
        "and 3 nm: only w_fin (6 / 5 nm) counts there",
        "gm x the tabulated effective width per fin (106 / 101 nm at 5 / 3 nm; equal to "
        "2 h_fin + w_fin at 14, 10, 7 nm)", (_C,), "tables §1.5, §7.9",
        "from_neurosim/src/formula.cpp transconductance"),
    "wire_temperature_wire_width_only": Quirk(
        "the wire temperature factor 1 + 0.00451 (T - 300) scales the wireWidth metal only; "
        "the array's Metal0 / Metal1 keep their 300 K resistivity",
        "every metal is as hot as the chip", (_E, _C), "tables §2.2 (notes), §7.3",
        "from_neurosim/src/technology.cpp WireTechnology"),
    # --- ADC ----------------------------------------------------------------------------
    "mlsa_column_charge": Quirk(
        "MLSA switching energy drops the 1/(L-1) share of the column charge (integer division)",
        "the column / S-A interface energy C_col V_r^2 (1/(L-1) + 1/D) per comparator",
        (_E,), "tables §6.1, §7.1", "chip/components/adc.py"),
    "mlsa_reference_levels": Quirk(
        "reference power sums L-3 reference columns; the latency load adds (L-3) C_gN",
        "all L-1 reference columns and comparator inputs", (_E, _C),
        "tables §7.21", "chip/components/adc.py"),
    "mlsa_dummy_column_area": Quirk(
        "the dummy reference column is sized with the wire width as F",
        "sized with the array's own cell pitch", (_A,), "tables §6.1, §7.4",
        "chip/components/adc.py"),
    "encoder_energy_zero": Quirk(
        "the thermometer encoder's dynamic energy is hard-coded to 0",
        "its gate capacitances switch (x epsilon)", (_E,), "tables §7.16",
        "chip/components/adc.py"),
    "decoder_output_stage": Quirk(
        "a row/mux decoder's output stage is two full-size driver INVs per NOR output (none "
        "for <= 2 address bits); the mux decoder's drivers leak like minimum INVs",
        "a tapered driver pair per decoded line (mux: behind its enable NAND2 + INV), every "
        "device leaking at its own width", (_A, _K), "RowDecoder.cpp",
        "chip/components/decoder.py"),
    "mux_decoder_table_driver": Quirk(
        "the mux decoder's select-line drivers are 2 W_min x sizingfactor_MUX whatever they "
        "drive; the factor is 1 at 130-32 nm (nodes absent from Param.cpp's sizing switch), "
        "so a minimum inverter drives every transmission gate of a select line (fan-out "
        "~170-960 in a 128x128 parallel RRAM sub-array: at 130 nm a 2:1 mux decoder takes "
        "39 ns, an 8:1 one 10 ns, and the read cycle falls as the mux selects among more "
        "columns)",
        "each select driver is sized for fan-out 4 into its half of the TG gates, the node's "
        "factor as a floor (at NeuroSim's default point, 22 nm and 8:1, its tuned 110 is "
        "already wider: nothing changes there)", (_C, _A, _K, _E),
        "tables §2.2, §5.6; RowDecoder.cpp", "chip/components/decoder.py"),
    # --- accumulation -----------------------------------------------------------------
    "adder_tree_odd_halving": Quirk(
        "adder-tree stages halve the operand count with integer division (odd counts lose "
        "an adder)", "ceil halving: every operand is added", (_A, _E, _K, _L), "tables §7.22",
        "chip/components/adder_tree.py"),
    "adder_tree_two_bit_latency": Quirk(
        "adder-tree stages after the first are timed as 2-bit adders",
        "each stage timed at its real width", (_L,), "tables §7.7",
        "chip/components/adder_tree.py"),
    "shift_add_control_ignored": Quirk(
        "the shift registers' load/shift gates (3 NAND2 per DFF, an INV per unit) are "
        "ignored: one standard-cell row of area, no leakage",
        "the gates are counted: their area and leakage", (_A, _K), "tables §5.3, ShiftAdd.cpp",
        "chip/components/shift_add.py"),
    "envm_shift_add_adc_width": Quirk(
        "eNVM (RRAM/FeFET) parallel sub-arrays size their shift-adders on the ADC output "
        "bits alone (SRAM ones add the partial-sum accumulation bits)",
        "the shift-adders take the accumulated partial sum, ADC bits + ceil(log2 numAdd), "
        "for every cell type", (_A, _E, _K), "SubArray.cpp (Initialize)",
        "chip/components/subarray.py"),
    "accumulator_first_load_free": Quirk(
        "a sub-array's partial-sum register is clocked numColMuxed x (numAdd - 1) times per "
        "input bit vector: loading the first partial sum costs nothing",
        "clocked once per partial sum, numColMuxed x numAdd times (the first is loaded too)",
        (_E,), "SubArray.cpp (CalculatePower: dff.CalculatePower(numColMuxed*(numAdd-1), ...))",
        "chip/components/subarray.py"),
    "shift_add_latency_hidden": Quirk(
        "the sub-array shift-add steps are completely hidden behind the ADC cycles",
        "the last steps after the final ADC cycle cost one adder delay each", (_L,),
        "tables §5.10", "chip/components/subarray.py"),
    "adder_tree_leaks_used_stages": Quirk(
        "a PE or tile adder tree leaks only the stages its last evaluation fed "
        "(AdderTree::CalculatePower(numRead, numUnitAdd) sets its leakage): the operands "
        "the layer's last tile gives it, by mapping path, or what an earlier tile, layer or "
        "the clock pass left when the layer's path does not evaluate it (one operand, or "
        "never evaluated: no leakage)",
        "the whole tree is powered and leaks whatever the layer uses", (_K,),
        "ProcessingUnit.cpp / Tile.cpp (AdderTree::CalculatePower)",
        "chip/neurosim_trees.py, chip/chip_model.py"),
    "global_accumulation_counts_duplicates": Quirk(
        "the chip-level accumulation adds a layer's tile rows whenever it has more than one, "
        "counting pipeline-duplicate tiles as rows", "only tiles holding different weight "
        "rows of one copy are added (duplicates work on different input vectors)",
        (_E, _L), "Chip.cpp (ChipCalculatePerformance)", "chip/global_blocks.py"),
    "unused_lanes_charged": Quirk(
        "every adder tree (PE, tile, chip) is charged for all its lanes on each evaluation, "
        "and a sub-array's shift-adders and partial-sum accumulators for all their units, "
        "whether the layer maps outputs to them or not",
        "only the lanes and units that carry a mapped output switch (a layer of 10 outputs "
        "uses 10 of a tile tree's 128 lanes)", (_E,),
        "AdderTree.cpp / ShiftAdd.cpp / Adder.cpp (CalculatePower x numAdderTree, numAdder)",
        "chip/pe.py, chip/tile.py, chip/global_blocks.py, chip/components/subarray.py"),
    "global_accumulation_sizing": Quirk(
        "the chip accumulation tree has max(#tile rows) inputs, pipeline duplicates included, "
        "and adds ceil(log2 maxAddFromSubArray) bits to the sub-array output "
        "(maxAddFromSubArray = PE/sub-array rows x PEs per tile side or sqrt(#NM PEs), "
        "x (#layers + 1) pipelined)",
        "as many inputs as a layer has tile rows of one weight copy, each as wide as a tile's "
        "output plus the tree's own stages", (_A, _E, _K, _L), "Chip.cpp (ChipInitialize)",
        "chip/global_blocks.py"),
    "envm_average_cell_loads": Quirk(
        "eNVM parallel sub-arrays size the column mux on R_avg / numRowParallel and the SL "
        "switch matrix on R_avg x numRow / numRowParallel, R_avg = 2 / (1/(R_on + R_acc) "
        "+ 1/(R_off + R_acc))",
        "both drive a column with half of the rows read at once on: R_on / (rows read / 2) "
        "for the mux (as NeuroSim's SRAM mux), R_on / rows read for the SL driver",
        (_A, _E, _C), "SubArray.cpp (Initialize, conventionalParallel eNVM)",
        "chip/components/subarray.py"),
    "envm_wl_energy_vdd": Quirk(
        "an eNVM 1T1R array's word-line read energy is C_row Vdd^2, with no bit-line term "
        "(left to the sense amplifier)",
        "the word line swings to the access voltage: C_row V_access^2", (_E,),
        "SubArray.cpp (CalculatePower, eNVM conventionalParallel)",
        "chip/components/array.py"),
    "tile_output_bits_sqrt": Quirk(
        "tile accumulation width = sub-array output bits + ceil(sqrt(#sub-arrays per PE))",
        "the PE adder tree's real output width (sub-array bits + its stages)",
        (_A, _E, _L), "Tile.cpp rule (docs/validation.md)", "chip/tile.py"),
    "level_shifter_no_leakage": Quirk(
        "the eNVM write level shifters (WL, BL, SL) report no leakage, no read energy and "
        "no read delay (their power and delay are evaluated for writes only)",
        "their devices leak like any other powered gate, and the WL shifter (the WL swings "
        "to the access voltage) switches on every partial read and is on the read path",
        (_K, _E, _C), "LevelShifter.cpp, SubArray.cpp (CalculateLatency)",
        "chip/components/level_shifter.py"),
    # --- switch matrix, pooling ---------------------------------------------------------
    "mux_drain_cap_unfolded": Quirk(
        "the column mux's TG drain capacitance is that of an unfolded pass gate (its area "
        "routine runs twice and the second, override pass, recomputes it unfolded)",
        "the drains of the TG as folded into its slot of the mux row", (_E, _C),
        "Mux.cpp / SubArray.cpp (CalculateArea)", "chip/components/mux.py"),
    "mux_cycles_per_bit_vector": Quirk(
        "with partial-parallel reads (numAdd > 1) the column mux, its decoder and the WL "
        "switch matrix's scan DFFs are charged numColMuxed cycles per input bit vector, as if "
        "all numAdd row groups were read in one pass",
        "each of the numAdd partial reads steps the mux through its columns again: "
        "numColMuxed x numAdd cycles (the rows driven are the same either way)", (_E,),
        "SubArray.cpp (CalculatePower: mux / muxDecoder / wlSwitchMatrix with numColMuxed)",
        "chip/components/subarray.py"),
    "wl_switch_matrix_read_voltage": Quirk(
        "the WL switch matrix charges its TG drains to the read voltage, also for an SRAM "
        "word line", "an SRAM word line swings to Vdd (the access transistors' gates): its "
        "drains are charged to Vdd", (_E,), "SwitchMatrix.cpp (CalculatePower)",
        "chip/components/switch_matrix.py"),
    "new_switch_matrix_pmos_table": Quirk(
        "NewSwitchMatrix sizes its PMOS half with the NMOS current table",
        "PMOS with the PMOS table", (_C,), "tables §7.13",
        "chip/components/switch_matrix.py"),
    "maxpool_single_tile_lanes": Quirk(
        "the chip's max-pool has one lane per ADC lane of one tile, even when pipelined",
        "as many lanes as the chip activation (x (#layers + 1) when pipelined): every "
        "pipelined layer pools at once", (_A, _L, _E), "Chip.cpp (ChipInitialize)",
        "chip/global_blocks.py"),
    "maxpool_extra_stage": Quirk(
        "a 2x2 max-pool counts 3 comparator stages (one more than a pairwise tree)",
        "ceil(log2 window) stages", (_L,), "tables §7.15", "chip/components/max_pool.py"),
    # --- interconnect and buffers -------------------------------------------------------
    "xybus_centre_traffic": Quirk(
        "X-Y bus: inputs on the horizontal bus over ceil(cols/2) tiles, outputs on the "
        "vertical bus over rows - ceil(rows/2) - 1 tiles (Chip.cpp's call)",
        "inputs and outputs from the centre to the farthest tile (latency), mean path "
        "(energy)", (_L, _E), "tables §5.9, XYBus.cpp rule", "chip/components/xybus.py"),
    "global_bus_layer_tile_size": Quirk(
        "a layer's global-bus transfers are timed and charged on the pitch of its own tile "
        "flavour (CM or NM tile side), while the bus is laid out over a grid of the largest",
        "every transfer crosses the grid the bus is laid out on (the largest tile's pitch)",
        (_L, _E), "Chip.cpp rule (ChipCalculatePerformance)", "chip/global_blocks.py"),
    "global_htree_width_share": Quirk(
        "a layer drives ceil(bus width x its tiles / chip tiles) bits per global H-tree "
        "transfer", "the whole bus width", (_L,), "Chip.cpp rule", "chip/global_blocks.py"),
    "pe_bus_untimed": Quirk(
        "with the synchronous clock the PE bus is left out of the latency",
        "its transfers take whole clock cycles", (_L,), "ProcessingUnit.cpp rule",
        "chip/pe.py"),
    "buffer_traffic_halved": Quirk(
        "tile buffers count reads = writes = bits / interface / 2",
        "every bit is written once and read once: bits / interface each", (_E,),
        "tables §5.11", "chip/tile.py"),
    "htree_area_strips": Quirk(
        "H-tree area: every bit lane of a stage is a strip one repeater wide (/ folded ratio), "
        "strip widths accumulate from stage to stage, plus the main bus",
        "wiring pitch per bit plus the repeaters actually placed", (_A,),
        "tables §5.9, HTree.cpp rule", "chip/components/htree.py"),
    "xybus_area_strips": Quirk(
        "X-Y bus area: one vertical and one horizontal bus over the whole tile grid, every "
        "bit lane a strip one repeater wide (/ folded ratio)",
        "one horizontal bus and a vertical bus per tile column at the wiring pitch, plus "
        "their repeaters", (_A,), "tables §5.9, XYBus.cpp rule", "chip/components/xybus.py"),
    "htree_latency_long_arms": Quirk(
        "the H-tree's root-to-leaf latency times arms of half the grid side and less (twice "
        "the arms its energy and a real H-tree have) and the main bus on the last arm's wire",
        "arms of a quarter of the grid side and less, as the energy path; every segment on "
        "its own wire", (_L,),
        "HTree.cpp (CalculateLatency vs CalculatePower)", "chip/components/htree.py"),
    "htree_leakage_one_path": Quirk(
        "H-tree leakage = repeaters along one root-to-leaf path x bus width",
        "every repeater of the tree leaks", (_K,), "HTree.cpp rule (tables §5.9)",
        "chip/components/htree.py"),
    # --- leakage ------------------------------------------------------------------------
    "in_use_leakage_sram_only": Quirk(
        "a busy tile leaks only its SRAM cells not being read (pipelined)",
        "its peripherals keep leaking while busy", (_K,), "tables §5.8, main.cpp rule",
        "chip/chip_model.py"),
    "layer_by_layer_leakage_running_tile": Quirk(
        "layer by layer: while a layer runs, the idle tiles of all other layers are charged "
        "at the running layer's per-tile leakage", "every tile leaks at its own rate for "
        "the whole image time (in use only while its layer runs)", (_K,), "main.cpp rule",
        "chip/chip_model.py"),
    "tile_buffer_leakage_one_core": Quirk(
        "a tile's input and output buffers leak as one buffer core each, however many cores "
        "they have (their area counts every core)",
        "every core of a tile buffer is powered and leaks", (_K,),
        "Tile.cpp (TileCalculatePerformance: inputBuffer->leakage once; TileCalculateArea: "
        "area x numInBufferCore), Buffer.cpp (CalculatePower: one core)", "chip/tile.py"),
    "pipeline_leakage_running_clock": Quirk(
        "pipelined: layer i's leakage power mixes its busy and idle time over the running "
        "maximum of the stage latencies of layers 1..i (the system clock still being "
        "computed), then is multiplied by the final one; a layer that is the slowest so far "
        "but not overall is charged its busy (SRAM-in-use) rate for the whole image time",
        "every layer is busy for its stage time and idle for the rest of the final image "
        "time, whatever the layer order", (_K,),
        "main.cpp (pipeline loop: leakagePowerPerLayer), reference §9", "chip/chip_model.py"),
    "chip_blocks_no_leakage": Quirk(
        "chip-level blocks (global buffer, bus, accumulation, activation) do not leak",
        "they leak for the whole image time", (_K,), "main.cpp rule", "chip/chip_model.py"),
}

_ALL = frozenset(QUIRKS)

#: quirks of the C++ formula engine: flags of its Technology / WireTechnology values
#: (from_neurosim EngineQuirks, same names), set by chip.technology.TechContext
ENGINE_QUIRKS = ("fin_fold_count_floor", "gaa_nmos_drain_generic_gap",
                 "inv_nmos_sidewall_pmos_folds", "finfet_gm_fin_geometry",
                 "wire_temperature_wire_width_only")


def markdown_table() -> str:
    """The registry as the Markdown table of docs/neurosim-differences.md ("The quirks")."""
    out = ["| quirk | NeuroSim V1.4 | ours, and why it is right | source | figures | code |",
           "|---|---|---|---|---|---|"]
    for name, q in QUIRKS.items():
        cells = [f"`{name}`", q.description, q.ours, q.source, ", ".join(q.figures), q.where]
        out.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(out)


def engine_quirk_names(active) -> list[str]:
    """The engine quirks among the ``active`` quirk names, in ENGINE_QUIRKS order."""
    return [n for n in ENGINE_QUIRKS if n in active]


def parse_quirks(text: str) -> tuple[str, ...]:
    """Names in a comma-separated ``compat_quirks`` value; ConfigError (a ValueError) naming an unknown one."""
    names = tuple(n.strip() for n in (text or "").split(",") if n.strip())
    unknown = [n for n in names if n not in QUIRKS]
    if unknown:
        raise ConfigError(f"compat_quirks: unknown quirk {unknown[0]!r}; known: "
                         f"{', '.join(QUIRKS)}")
    return names


def check_quirks(config) -> None:
    """ConfigError when ``config.compat_quirks`` names a quirk this registry does not know."""
    parse_quirks(getattr(config, "compat_quirks", ""))


def active_quirks(config) -> frozenset[str]:
    """All quirks under ``compat='neurosim-1.4'``, else those named in ``compat_quirks``."""
    if getattr(config, "compat", "none") == "neurosim-1.4":
        return _ALL
    return frozenset(parse_quirks(getattr(config, "compat_quirks", "")))


def quirk_on(config, name: str) -> bool:
    """Whether NeuroSim's convention ``name`` applies under ``config``."""
    if name not in QUIRKS:
        raise KeyError(f"unknown NeuroSim quirk {name!r}")
    return name in active_quirks(config)
