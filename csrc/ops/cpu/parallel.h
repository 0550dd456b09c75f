// A persistent worker pool for the CPU kernels: frames arrive every few
// milliseconds, so threads are started once, not per call.
#pragma once

#include <cstdint>
#include <functional>

namespace arniqa_edge::cpu {

// Number of cores this process may run on.
int available_cores();

// Calls fn(begin, end) on contiguous chunks covering [0, n), one chunk per thread,
// using up to num_threads threads (0 = all cores) including the caller. Returns when
// every chunk is done; rethrows the first exception a chunk raised. A call made while
// another is running (from another Python thread) runs on the caller alone.
void parallel_for(int64_t n, int num_threads, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace arniqa_edge::cpu
