// mixtile-cpu-vectorize-rows rejects tile and block sizes that are not
// positive (a zero k step would loop forever) and a negative prefetch
// distance, naming the option.

// RUN: mixtile-opt %s --mixtile-cpu-vectorize-rows="depth=0" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|narrow-depth must be positive, got -2|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="narrow-depth=-2" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|rows must be positive, got 0|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="rows=0" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|row-block must be positive, got 0|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="row-block=0" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|single-row-vectors must be positive, got 0|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="single-row-vectors=0" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|dot-rows must be positive, got 0|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="dot-rows=0" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|dot-depth must be positive, got -2|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="dot-depth=-2" -verify-diagnostics -o /dev/null
// RUN: sed 's|depth must be positive, got 0|prefetch-distance must not be negative, got -64|' %s | mixtile-opt --mixtile-cpu-vectorize-rows="prefetch-distance=-64" -verify-diagnostics -o /dev/null

// expected-error @below {{mixtile-cpu-vectorize-rows: depth must be positive, got 0}}
module {
  func.func @f() { return }
}
