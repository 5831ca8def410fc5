# Writes OUTPUT, a C++ fragment defining the contents of RUNTIME (the C
# runtime), HEADER (the public C header it includes) and PARALLEL (the
# kernels' thread pool) as raw strings.
file(READ ${RUNTIME} runtime)
file(READ ${HEADER} header)
file(READ ${PARALLEL} parallel)
file(WRITE ${OUTPUT}
  "// Generated from CpuRuntime.c and mixtile_cpu.h; do not edit.\n"
  "const char kRuntimeSource[] = R\"mixtile(${runtime})mixtile\";\n"
  "const char kRuntimeHeader[] = R\"mixtile(${header})mixtile\";\n"
  "const char kParallelSource[] = R\"mixtile(${parallel})mixtile\";\n")
