// Hot kernel of chip/activity.py: the column-value histogram of one subarray row block.
//
// For every input bit vector v and every read (a run of read_rows consecutive rows of the
// block), the value each column presents to its sense amplifier is the sum of the per-cell
// values g[i, c] over the rows i whose input bit is 1 (eNVM: effective conductances, SRAM:
// 1 per stored 1, i.e. a count). numpy can only do this as a dense product per read
// (K = read_rows is far too thin for BLAS) followed by a float->bin pass over a temporary as
// large as the product; here the sum runs over the active rows only (input bits are sparse),
// the column values stay in L1 and go straight into the histogram. Threads split the vectors.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <thread>
#include <type_traits>
#include <vector>

namespace py = pybind11;

namespace {

// Column tile: the accumulators (4 B each) stay in L1 and the block's g tile
// (<= rows x kTile x 4 B, 256 KB for 128 rows) in L2 while all vectors of a thread pass over it.
constexpr int64_t kTile = 512;
// Reads of at most this many rows may be evaluated once per input pattern (run_patterns_t).
constexpr int64_t kMaxPatternRows = 12;

struct Job {
    const uint8_t* x;        // [V, x_stride] input bits (0/1)
    int64_t x_stride;
    const int32_t* rows;     // the block's rows: column indices into x, block row i -> rows[i]
    int64_t nr;
    const void* g;           // [nr, ncols] per-cell values (float or uint8), C order
    int64_t ncols;
    int64_t read_rows;       // rows summed per read
    float scale;             // multiplies every sum before binning (NeuroSim averaging); 1 = none
    float bin_scale;         // bin = (int)(value * bin_scale), as numpy's float32 astype(int32)
    int64_t bins;            // highest bin (values above it are clamped there)
    bool count_zero;         // reads without an active row: count their columns in bin 0
};

// Forced inlining, so each target_clones wrapper below compiles the body for its own ISA.
#if defined(__GNUC__)
#define NPS_INLINE inline __attribute__((always_inline))
#else
#define NPS_INLINE inline
#endif

// Vectors [v0, v1) of one job into hist[bins + 1] (one histogram: 4 interleaved copies
// against store-to-load chains on equal bins measured no faster on this EPYC); returns the
// reads that had no active row. G: per-cell value type; A: accumulator type (float: conductances, binned by
// bin_scale; uint8/uint16: exact counts of 0/1 cells, the bin is the count itself, and 64 or
// 32 of them fit one AVX-512 register instead of 16 floats).
template <typename G, typename A>
NPS_INLINE uint64_t run_range_t(const Job& job, const G* g, int64_t v0,
                                                           int64_t v1, uint64_t* hist) {
    std::vector<A> acc(static_cast<size_t>(kTile));
    std::vector<int32_t> active(static_cast<size_t>(job.read_rows));
    std::vector<int32_t> bin_idx(static_cast<size_t>(kTile));
    uint64_t zero_reads = 0;
    for (int64_t t0 = 0; t0 < job.ncols; t0 += kTile) {
        const int64_t w = std::min(kTile, job.ncols - t0);
        for (int64_t v = v0; v < v1; ++v) {
            const uint8_t* xv = job.x + v * job.x_stride;
            for (int64_t q = 0; q < job.nr; q += job.read_rows) {
                const int64_t qe = std::min(job.nr, q + job.read_rows);
                // branch-free: input bits are random, a branch per row mispredicts often
                int na = 0;
                int32_t* act = active.data();
                for (int64_t i = q; i < qe; ++i) {
                    act[na] = static_cast<int32_t>(i);
                    na += xv[job.rows[i]] != 0;
                }
                if (na == 0) {
                    if (t0 == 0) ++zero_reads;
                    if (job.count_zero) hist[0] += static_cast<uint64_t>(w);
                    continue;
                }
                A* a = acc.data();
                const G* g0 = g + static_cast<int64_t>(act[0]) * job.ncols + t0;
                for (int64_t c = 0; c < w; ++c) a[c] = static_cast<A>(g0[c]);
                // summed in row order, one row at a time (vectorized over the columns)
                for (int k = 1; k < na; ++k) {
                    const G* gk = g + static_cast<int64_t>(act[k]) * job.ncols + t0;
                    for (int64_t c = 0; c < w; ++c) a[c] = static_cast<A>(a[c] + gk[c]);
                }
                if constexpr (std::is_same_v<A, float>) {
                    // bins in a separate, vectorizable pass; the scatter below stays scalar
                    int32_t* bi = bin_idx.data();
                    const float sc = job.scale, bs = job.bin_scale;
                    const int32_t top = static_cast<int32_t>(job.bins);
                    if (job.scale != 1.0f) {
                        for (int64_t c = 0; c < w; ++c) {
                            const int32_t b = static_cast<int32_t>((a[c] * sc) * bs);
                            bi[c] = std::min(std::max(b, 0), top);
                        }
                    } else {
                        for (int64_t c = 0; c < w; ++c) {
                            const int32_t b = static_cast<int32_t>(a[c] * bs);
                            bi[c] = std::min(std::max(b, 0), top);
                        }
                    }
                    for (int64_t c = 0; c < w; ++c) ++hist[bi[c]];
                } else {
                    for (int64_t c = 0; c < w; ++c) {
                        const int64_t b = std::min<int64_t>(static_cast<int64_t>(a[c]), job.bins);
                        ++hist[b];
                    }
                }
            }
        }
    }
    return zero_reads;
}

// The same histogram when a read spans only a few rows (e.g. a 3-channel first layer mapped
// one kernel tap per subarray: 3 rows): only 2^len input patterns exist, far fewer than the
// vectors, so each pattern's column values are computed once (same row order, so the same
// sums) and binned with the pattern's vector count. Single-threaded: the vector pass is cheap.
template <typename G, typename A>
NPS_INLINE uint64_t run_patterns_t(const Job& job, const G* g, int64_t V,
                                                              uint64_t* hist) {
    std::vector<A> acc(static_cast<size_t>(job.ncols));
    std::vector<int32_t> bi(static_cast<size_t>(job.ncols));
    std::vector<uint64_t> seen;
    uint64_t zero_reads = 0;
    for (int64_t q = 0; q < job.nr; q += job.read_rows) {
        const int len = static_cast<int>(std::min(job.nr, q + job.read_rows) - q);
        seen.assign(size_t{1} << len, 0);
        for (int64_t v = 0; v < V; ++v) {
            const uint8_t* xv = job.x + v * job.x_stride;
            uint32_t code = 0;
            for (int i = 0; i < len; ++i) code |= static_cast<uint32_t>(xv[job.rows[q + i]] != 0) << i;
            ++seen[code];
        }
        zero_reads += seen[0];
        if (job.count_zero) hist[0] += seen[0] * static_cast<uint64_t>(job.ncols);
        for (size_t pat = 1; pat < seen.size(); ++pat) {
            const uint64_t n = seen[pat];
            if (n == 0) continue;
            A* a = acc.data();
            bool first = true;
            for (int i = 0; i < len; ++i) {               // ascending rows, as run_range_t
                if (!((pat >> i) & 1u)) continue;
                const G* gi = g + (q + i) * job.ncols;
                if (first) {
                    for (int64_t c = 0; c < job.ncols; ++c) a[c] = static_cast<A>(gi[c]);
                    first = false;
                } else {
                    for (int64_t c = 0; c < job.ncols; ++c) a[c] = static_cast<A>(a[c] + gi[c]);
                }
            }
            const int32_t top = static_cast<int32_t>(job.bins);
            for (int64_t c = 0; c < job.ncols; ++c) {
                int32_t b;
                if constexpr (std::is_same_v<A, float>) {
                    float val = a[c];
                    if (job.scale != 1.0f) val *= job.scale;
                    b = std::max(static_cast<int32_t>(val * job.bin_scale), 0);
                } else {
                    b = static_cast<int32_t>(a[c]);
                }
                bi[static_cast<size_t>(c)] = std::min(b, top);
            }
            for (int64_t c = 0; c < job.ncols; ++c) hist[bi[static_cast<size_t>(c)]] += n;
        }
    }
    return zero_reads;
}

// target_clones: AVX-512 / AVX2 builds of the loops above (inlined), picked at load time,
// since the module is compiled for the baseline x86-64 ISA.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NPS_CLONES __attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))
#else
#define NPS_CLONES
#endif
NPS_CLONES uint64_t run_float(const Job& job, int64_t v0, int64_t v1, uint64_t* hist) {
    return run_range_t<float, float>(job, static_cast<const float*>(job.g), v0, v1, hist);
}
NPS_CLONES uint64_t run_u8(const Job& job, int64_t v0, int64_t v1, uint64_t* hist) {
    return run_range_t<uint8_t, uint8_t>(job, static_cast<const uint8_t*>(job.g), v0, v1, hist);
}
NPS_CLONES uint64_t patterns_float(const Job& job, int64_t V, uint64_t* hist) {
    return run_patterns_t<float, float>(job, static_cast<const float*>(job.g), V, hist);
}
NPS_CLONES uint64_t patterns_u16(const Job& job, int64_t V, uint64_t* hist) {
    return run_patterns_t<uint8_t, uint16_t>(job, static_cast<const uint8_t*>(job.g), V, hist);
}
NPS_CLONES uint64_t run_u16(const Job& job, int64_t v0, int64_t v1, uint64_t* hist) {
    return run_range_t<uint8_t, uint16_t>(job, static_cast<const uint8_t*>(job.g), v0, v1, hist);
}

// Splits the vectors over threads (GIL released); (hist float64 [bins + 1], zero_reads).
py::tuple run_job(const Job& job, int64_t V, int threads,
                  uint64_t (*fn)(const Job&, int64_t, int64_t, uint64_t*),
                  uint64_t (*patterns)(const Job&, int64_t, uint64_t*)) {
    const int64_t nb = job.bins + 1;
    const int64_t len = std::min(job.read_rows, job.nr);
    if (len <= kMaxPatternRows && (int64_t{8} << len) <= V) {
        // few rows per read, many vectors: once per input pattern (8+ vectors per pattern)
        std::vector<uint64_t> h(static_cast<size_t>(nb), 0);
        uint64_t zero_reads;
        {
            py::gil_scoped_release release;
            zero_reads = patterns(job, V, h.data());
        }
        py::array_t<double> out(nb);
        double* o = out.mutable_data();
        for (int64_t k = 0; k < nb; ++k) o[k] = static_cast<double>(h[static_cast<size_t>(k)]);
        return py::make_tuple(out, zero_reads);
    }
    // at least ~256 vectors per thread, or the thread start-up costs more than it saves
    int nt = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(std::max(threads, 1), V / 256)));
    std::vector<std::vector<uint64_t>> hists(static_cast<size_t>(nt),
                                             std::vector<uint64_t>(static_cast<size_t>(nb), 0));
    std::vector<uint64_t> zeros(static_cast<size_t>(nt), 0);
    {
        py::gil_scoped_release release;
        std::vector<std::thread> pool;
        for (int t = 0; t < nt; ++t) {
            const int64_t a = V * t / nt, b = V * (t + 1) / nt;
            auto work = [&job, &hists, &zeros, fn, t, a, b]() {
                zeros[static_cast<size_t>(t)] = fn(job, a, b, hists[static_cast<size_t>(t)].data());
            };
            if (t == nt - 1) work(); else pool.emplace_back(work);
        }
        for (auto& th : pool) th.join();
    }
    py::array_t<double> out(nb);
    double* o = out.mutable_data();
    uint64_t zero_reads = 0;
    for (int64_t k = 0; k < nb; ++k) o[k] = 0.0;
    for (int t = 0; t < nt; ++t) {
        zero_reads += zeros[static_cast<size_t>(t)];
        for (int64_t k = 0; k < nb; ++k) o[k] += static_cast<double>(hists[static_cast<size_t>(t)][static_cast<size_t>(k)]);
    }
    return py::make_tuple(out, zero_reads);
}

void check_rows(const py::array& x, const int32_t* r, int64_t nr) {
    for (int64_t i = 0; i < nr; ++i) {
        if (r[i] < 0 || r[i] >= x.shape(1)) throw std::invalid_argument("column_histogram: row index out of range");
    }
}

py::tuple column_count_histogram(py::array_t<uint8_t, py::array::c_style> x,
                                 py::array_t<int32_t, py::array::c_style> rows,
                                 py::array_t<uint8_t, py::array::c_style> cells, int64_t read_rows,
                                 int64_t bins, bool count_zero, int threads) {
    if (x.ndim() != 2 || rows.ndim() != 1 || cells.ndim() != 2 || cells.shape(0) != rows.shape(0))
        throw std::invalid_argument("column_count_histogram: x [V, rows], rows [n], cells [n, cols] expected");
    if (read_rows < 1 || read_rows > 65535 || bins < 0)
        throw std::invalid_argument("column_count_histogram: 1 <= read_rows <= 65535, bins >= 0");
    const uint8_t* c = cells.data();
    for (int64_t i = 0; i < cells.size(); ++i) {
        if (c[i] > 1) throw std::invalid_argument("column_count_histogram: cells must be 0 or 1");
    }
    check_rows(x, rows.data(), rows.shape(0));
    Job job{x.data(), x.shape(1), rows.data(), rows.shape(0), c, cells.shape(1), read_rows,
            1.0f, 1.0f, bins, count_zero};
    return run_job(job, x.shape(0), threads, read_rows <= 255 ? &run_u8 : &run_u16, &patterns_u16);
}

py::tuple column_histogram(py::array_t<uint8_t, py::array::c_style> x,
                           py::array_t<int32_t, py::array::c_style> rows,
                           py::array_t<float, py::array::c_style> g, int64_t read_rows,
                           int64_t bins, double scale, double bin_scale, bool count_zero,
                           int threads) {
    if (x.ndim() != 2 || rows.ndim() != 1 || g.ndim() != 2)
        throw std::invalid_argument("column_histogram: x [V, rows], rows [n], g [n, cols] expected");
    const int64_t V = x.shape(0), nr = rows.shape(0);
    if (g.shape(0) != nr) throw std::invalid_argument("column_histogram: g must have one row per block row");
    if (read_rows < 1 || bins < 0) throw std::invalid_argument("column_histogram: read_rows >= 1, bins >= 0");
    check_rows(x, rows.data(), nr);
    Job job{x.data(), x.shape(1), rows.data(), nr, g.data(), g.shape(1), read_rows,
            static_cast<float>(scale), static_cast<float>(bin_scale), bins, count_zero};
    return run_job(job, V, threads, &run_float, &patterns_float);
}

}  // namespace

void register_activity_kernels(py::module_& m) {
    m.def("column_histogram", &column_histogram, py::arg("x"), py::arg("rows"), py::arg("g"),
          py::arg("read_rows"), py::arg("bins"), py::arg("scale") = 1.0, py::arg("bin_scale") = 1.0,
          py::arg("count_zero") = false, py::arg("threads") = 1,
          "(hist[bins + 1] float64, zero_reads): histogram of the column sums of the per-cell "
          "values g over the rows of each read (read_rows consecutive block rows) whose input "
          "bit x[v, rows[i]] is 1, for every vector v; bin = int(sum * scale * bin_scale), "
          "clamped to [0, bins]. Reads with no active row are skipped (counted as ncols "
          "zeros when count_zero) and returned as zero_reads.");
    m.def("column_count_histogram", &column_count_histogram, py::arg("x"), py::arg("rows"),
          py::arg("cells"), py::arg("read_rows"), py::arg("bins"), py::arg("count_zero") = false,
          py::arg("threads") = 1,
          "column_histogram for 0/1 cells (uint8): exact integer counts, bin = count.");
}
