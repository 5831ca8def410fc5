// RUN: mixtile-opt %s --xfmr-attach-target="target=maia900" -verify-diagnostics
// RUN: not mixtile-opt %s --xfmr-attach-target="target=%S/Inputs/bad-chip.json" 2>&1 | FileCheck %s

/// Unknown targets and bad descriptions are reported on the module.

// expected-error @below {{xfmr-attach-target: unknown target 'maia900': not a built-in target (maia200) and no such file}}
module {
}

// CHECK: error: xfmr-attach-target: '{{.*}}bad-chip.json': field 'clusters' must be positive
