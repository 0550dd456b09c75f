// A persistent worker pool for the CPU kernels: frames arrive every few
// milliseconds, so threads are started once, not per call.
#pragma once

#include <algorithm>
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

// parallel_for over [0, units * per_unit) whose chunks are cut again where units meet:
// calls fn(unit, begin, end) for each piece, [begin, end) flat indices inside `unit`.
template <typename Fn>
void parallel_for_unit_pieces(int64_t units, int64_t per_unit, int num_threads, Fn fn) {
  parallel_for(units * per_unit, num_threads, [&](int64_t begin, int64_t end) {
    while (begin < end) {
      const int64_t unit = begin / per_unit;
      const int64_t stop = std::min(end, (unit + 1) * per_unit);
      fn(unit, begin, stop);
      begin = stop;
    }
  });
}

}  // namespace arniqa_edge::cpu
