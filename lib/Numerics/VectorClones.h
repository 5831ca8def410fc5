//===- VectorClones.h - AVX2 clones of the numerics loops -------*- C++ -*-===//
//
// The array loops are compiled twice on x86-64 ELF targets, for the SSE2
// baseline and for AVX2, and the loader picks the clone the CPU runs (AVX2
// makes the vectorized loops about 2.5x faster). Both clones perform the
// same IEEE operations (no FMA), so their results are bit-identical.
// Private to lib/Numerics.
//
//===----------------------------------------------------------------------===//

#ifndef MIXTILE_LIB_NUMERICS_VECTORCLONES_H
#define MIXTILE_LIB_NUMERICS_VECTORCLONES_H

#if defined(__x86_64__) && defined(__ELF__) &&                                 \
    (defined(__clang__) || defined(__GNUC__))
#define MIXTILE_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MIXTILE_VECTOR_CLONES
#endif

#endif // MIXTILE_LIB_NUMERICS_VECTORCLONES_H
