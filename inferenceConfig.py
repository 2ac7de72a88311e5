"""NeuroPySim's user-editable defaults: edit this file, then re-run the two steps.

    python inference_sim.py   # step 1: accuracy on hardware + traces in layer_record_<NET>/
    python Chip.py            # step 2: area, latency, energy of the chip for those traces

Every field of the hardware is listed here with its default. Parameters that change what
the hardware computes (marked [accuracy]) are stamped into the trace by step 1 and read
back by step 2; the others (cost only) step 2 takes from this file each time it runs.
`--preset NAME` and `--set key=value` on either command line override this file.
Units are SI (ohm, V, s, Hz, K) unless the name says otherwise.
"""
from contracts.config import HardwareConfig
from contracts.model_spec import model_name

# --- what step 1 runs -------------------------------------------------------------------
MODEL = "lenet5"              # registered name (models.names(): mlp, lenet5, vgg8, dscnn,
                              # resnet18-cifar, ...), "path/file.py:factory", "m.onnx" or
                              # "m.tflite" (docs/models.md); NETWORK = ... is read as before
DATASET = "mnist5k"           # mnist5k (offline), mnist, cifar10, synthetic, a folder of
                              # labelled images, or an .npz file with x / y (docs/models.md)
DATA_ROOT = None              # folder with MNIST IDX / CIFAR-10 python files (mnist, cifar10)
TRACE_IMAGES = 1              # images whose per-layer activations are recorded for step 2
SEED = 0                      # every random draw (init, sampling, device effects) starts here


def trace_dir(network: str) -> str:
    """Folder step 1 writes and step 2 reads: layer_record_<NET> (NET: the model's short
    name, e.g. VGG8 for "vgg8", TINY for "models/examples/tiny.onnx")."""
    return f"layer_record_{model_name(network).upper()}"


TRACE_DIR = trace_dir(MODEL)    # what `python Chip.py` estimates by default
RESULTS_DIR = "results"         # results/<net>/: step 1's accuracy.json, step 2's reports

# --- the hardware (one source of truth for both steps) ------------------------------------
HARDWARE = HardwareConfig(
    # memory cell and device
    memory_cell="rram",           # [accuracy] rram | sram
    access_device="1t1r",         # [accuracy] 1t1r (CMOS access transistor) | 0t1r (crossbar)
    technology_node_nm=22,        # 130, 90, 65, 45, 32, 22 (planar), 14..3 (FinFET), 2, 1 (GAA)
    roadmap="lstp",               # lstp | hp (hp only at planar nodes)
    temperature_K=300.0,          # 300..400 K
    # array organisation
    subarray_rows=128,            # [accuracy] word lines per subarray
    subarray_cols=128,            # [accuracy] bit lines per subarray (need not equal rows)
    operation_mode="sequential",  # [accuracy] sequential: one row per read | parallel
    rows_in_parallel=None,        # [accuracy] rows summed per read in parallel mode (None: all)
    cell_bits=1,                  # [accuracy] bits per cell (1..4; SRAM: 1)
    weight_bits=8,                # [accuracy] weight precision
    activation_bits=8,            # [accuracy] input activation precision
    weight_encoding="offset",     # [accuracy] offset (reference column) | differential (G+ - G-)
    input_encoding="bit_serial",  # [accuracy] bit_serial (1 bit per cycle) | dac (step 1
                                  # only: Chip.py refuses it, it prices bit-serial reads)
    # device electrical
    r_on_ohm=100e3,               # [accuracy] low-resistance state
    r_off_ohm=1.7e6,              # [accuracy] high-resistance state (on/off ratio 17)
    read_voltage_V=None,          # None: the node's default read voltage
    access_voltage_V=1.1,         # 1T1R gate voltage
    write_voltage_V=2.0,          # programming voltage (level shifters above 1.5 V)
    write_pulse_width_s=10e-9,    # programming pulse
    # ADC
    adc_type="flash",             # flash (multilevel sense amps) | sar
    adc_bits=5,                   # [accuracy] ADC resolution (parallel mode)
    cols_per_adc=8,               # columns sharing one ADC through a mux
    adc_range="calibrated",       # [accuracy] full_scale | calibrated (on observed partial sums)
    # device and crossbar non-idealities (all off by default; step 1 only)
    programming_error_sigma=0.0,  # [accuracy] write error sigma (relative)
    programming_error_mode="state_proportional",  # [accuracy] state_independent | state_proportional
    relaxation_sigma=0.0,         # [accuracy] short-term relaxation sigma (relative)
    drift_model="none",           # [accuracy] none | relative | power_law
    drift_time_s=0.0,             # [accuracy] time after programming
    drift_relative_k=0.1,         # [accuracy] relative drift k
    drift_relative_t_ref_s=1.0,   # [accuracy] relative drift: time where the spread is k
    drift_relative_log_slope=0.102,  # [accuracy] relative drift: spread growth per ln(t)
    drift_nu=0.05,                # [accuracy] power-law exponent
    drift_t0_s=1.0,               # [accuracy] power-law reference time
    drift_compensation=False,     # [accuracy] global drift compensation
    d2d_variation_sigma=0.0,      # [accuracy] device-to-device variation (fixed per cell)
    read_noise_sigma=0.0,         # [accuracy] cycle-to-cycle read noise
    stuck_at_fault_rate=0.0,      # [accuracy] fraction of stuck cells
    stuck_at_lrs_fraction=0.5,    # [accuracy] share of stuck cells at Gmax (LRS)
    wire_resistance_ohm=0.0,      # [accuracy] wire segment resistance per cell (IR drop; 0 = off)
    adc_offset_lsb=0.0,           # [accuracy] ADC offset
    adc_gain_error=0.0,           # [accuracy] ADC relative gain error
    adc_inl_lsb=0.0,              # [accuracy] ADC INL bound
    adc_dnl_lsb=0.0,              # [accuracy] ADC DNL bound
    adc_noise_lsb=0.0,            # [accuracy] ADC thermal noise sigma
    # mapping, pipeline and chip
    mapping="conventional",       # conventional | novel (NeuroSim's K x K PE mapping)
    pipeline=True,                # True: layers pipelined; False: layer by layer
    speedup_degree=8,             # weight duplication target for pipeline balance
    global_interconnect="xybus",  # htree | xybus
    global_buffer="register",     # register (DFF) | sram
    tile_buffer="register",       # register | sram
    pe_buffer="register",         # register | sram
    global_buffer_core_rows=128,  # bits
    global_buffer_core_cols=128,  # bits
    tile_buffer_core_rows=32,     # bits
    tile_buffer_core_cols=32,     # bits
    clock="synchronous",          # synchronous | asynchronous
    clock_freq_max_Hz=1e9,        # clock cap
    activation_function="relu",   # relu | sigmoid
    input_toggle_rate=0.18,       # bus bit-toggle rate, input traffic
    output_toggle_rate=0.5,       # bus bit-toggle rate, output traffic
    global_bus_delay_tolerance=0.1,   # repeater down-sizing, chip bus
    local_bus_delay_tolerance=0.1,    # repeater down-sizing, tile H-tree
    max_global_bus_width=2048,    # bits
    calibration_factors=True,     # NeuroSim's post-layout calibration ('validated')
    compat="none",                # none | neurosim-1.4 (reproduce NeuroSim's counting)
    compat_quirks="",             # e.g. "ops_from_input_size,buffer_traffic_halved": switch on
                                  # single NeuroSim conventions (chip/compat.py) to measure them
)
