/* lq-multiversion.h: LQ_MULTIVERSION compiles a hand-vectorised kernel twice, for x86-64-v3
 * (AVX2 + FMA) and for the baseline, and lets the loader pick the first on CPUs that have it
 * (GCC's target_clones; nothing elsewhere). Each clone sums in a fixed order, so a kernel is
 * deterministic on a given CPU. */
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define LQ_MULTIVERSION __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#endif
#endif
#ifndef LQ_MULTIVERSION
#define LQ_MULTIVERSION
#endif
