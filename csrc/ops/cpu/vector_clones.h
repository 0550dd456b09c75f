// ARNIQA_CPU_CLONES: compile a hot loop twice on x86-64 with GCC, for the SSE2
// baseline and for AVX2, and pick one at load time (ifunc). "avx2" does not enable
// FMA, so both clones round alike; elsewhere the macro is empty.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ARNIQA_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ARNIQA_CPU_CLONES
#endif
