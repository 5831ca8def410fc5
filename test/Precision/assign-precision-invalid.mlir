// Every diagnostic of xfmr-assign-precision's options, one run each: the
// case's line becomes the expected error in front of a two-layer model
// (Inputs/two-linear-model.mlir). One error on the module, nothing annotated.
//
// RUN: sed -n 's|^// BOUND: |// expected-error @below |p' %s > %t.BOUND.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.BOUND.mlir
// RUN: mixtile-opt %t.BOUND.mlir --xfmr-assign-precision="budget=kl=-1 objective=bytes candidates=bf16,mxfp4 test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// PPLBOUND: |// expected-error @below |p' %s > %t.PPLBOUND.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.PPLBOUND.mlir
// RUN: mixtile-opt %t.PPLBOUND.mlir --xfmr-assign-precision="budget=ppl-ratio=0.9 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// METRIC: |// expected-error @below |p' %s > %t.METRIC.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.METRIC.mlir
// RUN: mixtile-opt %t.METRIC.mlir --xfmr-assign-precision="budget=ppl=2 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// CAND: |// expected-error @below |p' %s > %t.CAND.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.CAND.mlir
// RUN: mixtile-opt %t.CAND.mlir --xfmr-assign-precision="candidates=fp5 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// TARGET: |// expected-error @below |p' %s > %t.TARGET.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.TARGET.mlir
// RUN: mixtile-opt %t.TARGET.mlir --xfmr-assign-precision="candidates=bf16" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// MIXTARGET: |// expected-error @below |p' %s > %t.MIXTARGET.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.MIXTARGET.mlir
// RUN: mixtile-opt %t.MIXTARGET.mlir --xfmr-assign-precision="candidates=bf16 objective=mix" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// MIXWEIGHT: |// expected-error @below |p' %s > %t.MIXWEIGHT.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.MIXWEIGHT.mlir
// RUN: mixtile-opt %t.MIXWEIGHT.mlir --xfmr-assign-precision="candidates=bf16 objective=mix mix-weight=1.5" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// OBJECTIVE: |// expected-error @below |p' %s > %t.OBJECTIVE.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.OBJECTIVE.mlir
// RUN: mixtile-opt %t.OBJECTIVE.mlir --xfmr-assign-precision="candidates=bf16 objective=speed" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// SENSMODE: |// expected-error @below |p' %s > %t.SENSMODE.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.SENSMODE.mlir
// RUN: mixtile-opt %t.SENSMODE.mlir --xfmr-assign-precision="candidates=bf16 objective=bytes sensitivity=guess" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// CALIB: |// expected-error @below |p' %s > %t.CALIB.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.CALIB.mlir
// RUN: mixtile-opt %t.CALIB.mlir --xfmr-assign-precision="candidates=bf16 objective=bytes" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// CALIBFILE: |// expected-error-re @below |p' %s > %t.CALIBFILE.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.CALIBFILE.mlir
// RUN: mixtile-opt %t.CALIBFILE.mlir --xfmr-assign-precision="candidates=bf16 objective=bytes calibration=%t.missing.tokens" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// CALIBTEXT: |// expected-error-re @below |p' %s > %t.CALIBTEXT.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.CALIBTEXT.mlir
// RUN: mixtile-opt %t.CALIBTEXT.mlir --xfmr-assign-precision="candidates=bf16 objective=bytes calibration=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// TOKENIZER: |// expected-error-re @below |p' %s > %t.TOKENIZER.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.TOKENIZER.mlir
// RUN: mixtile-opt %t.TOKENIZER.mlir --xfmr-assign-precision="candidates=bf16 objective=bytes calibration=%s tokenizer=%t.missing.bin" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// HOOK: |// expected-error-re @below |p' %s > %t.HOOK.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.HOOK.mlir
// RUN: mixtile-opt %t.HOOK.mlir --xfmr-assign-precision="candidates=bf16,nvfp4 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// PINCAND: |// expected-error @below |p' %s > %t.PINCAND.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.PINCAND.mlir
// RUN: mixtile-opt %t.PINCAND.mlir --xfmr-assign-precision="candidates=bf16,mxfp4 pins=a=nvfp4 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// PINNONE: |// expected-error @below |p' %s > %t.PINNONE.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.PINNONE.mlir
// RUN: mixtile-opt %t.PINNONE.mlir --xfmr-assign-precision="candidates=bf16,mxfp4 pins=zzz=bf16 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// PINREGEX: |// expected-error-re @below |p' %s > %t.PINREGEX.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.PINREGEX.mlir
// RUN: mixtile-opt %t.PINREGEX.mlir --xfmr-assign-precision="candidates=bf16,mxfp4 pins=(=bf16 objective=bytes test-sensitivities=%S/Inputs/two-layers.json" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// SWEEP: |// expected-error @below |p' %s > %t.SWEEP.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.SWEEP.mlir
// RUN: mixtile-opt %t.SWEEP.mlir --xfmr-assign-precision="candidates=bf16,mxfp4 objective=bytes sweep=0.01,1.5 test-sensitivities=%S/Inputs/two-layers.json budget=top1=0.9" -verify-diagnostics -o /dev/null
// RUN: sed -n 's|^// SENSMETRIC: |// expected-error-re @below |p' %s > %t.SENSMETRIC.mlir && cat %S/Inputs/two-linear-model.mlir >> %t.SENSMETRIC.mlir
// RUN: mixtile-opt %t.SENSMETRIC.mlir --xfmr-assign-precision="candidates=bf16,mxfp4 objective=bytes calibration=%s sensitivities-in=%S/Inputs/top1-sensitivities.json" -verify-diagnostics -o /dev/null

// BOUND: {{xfmr-assign-precision: budget 'kl=-1' needs a non-negative bound (top1: at most 1; ppl-ratio: at least 1), e.g. kl=0.01, top1=0.99 or ppl-ratio=1.01}}
// PPLBOUND: {{xfmr-assign-precision: budget 'ppl-ratio=0.9' needs a non-negative bound (top1: at most 1; ppl-ratio: at least 1), e.g. kl=0.01, top1=0.99 or ppl-ratio=1.01}}
// METRIC: {{xfmr-assign-precision: unsupported budget metric 'ppl' (supported: kl, top1, ppl-ratio, rel-l2, local)}}
// CAND: {{xfmr-assign-precision: candidate 'fp5': unknown weights scheme 'fp5'}}
// TARGET: {{xfmr-assign-precision: the latency objective needs a target: module has no 'xfmr.target' attribute; run xfmr-attach-target}}
// MIXTARGET: {{xfmr-assign-precision: the mix objective needs a target: module has no 'xfmr.target' attribute; run xfmr-attach-target}}
// MIXWEIGHT: {{xfmr-assign-precision: mix-weight 1.50 is not in [0, 1]}}
// OBJECTIVE: {{xfmr-assign-precision: unknown objective 'speed' (expected latency, bytes or mix)}}
// SENSMODE: {{xfmr-assign-precision: unknown sensitivity mode 'guess' (expected exact, local, compare or probe)}}
// CALIB: {{xfmr-assign-precision: needs calibration tokens (calibration=FILE)}}
// CALIBFILE: {{xfmr-assign-precision: calibration '{{.*}}missing.tokens': {{.*}}}}
// CALIBTEXT: {{xfmr-assign-precision: calibration '{{.*}}two-layers.json': line 1: expected a token id, got '{'}}
// TOKENIZER: {{xfmr-assign-precision: {{.*}}missing.bin{{.*}}}}
// HOOK: {{xfmr-assign-precision: '{{.*}}two-layers.json' has no value for 'a.weight' / 'nvfp4'}}
// PINCAND: {{xfmr-assign-precision: pin 'a=nvfp4' must be REGEX=CANDIDATE with a candidate of the menu}}
// PINNONE: {{xfmr-assign-precision: pin 'zzz=bf16' matches no layer group}}
// PINREGEX: {{xfmr-assign-precision: pin '(=bf16': invalid regex: {{.*}}}}
// SWEEP: {{xfmr-assign-precision: sweep value '1.5' is not a valid top1 bound}}

// SENSMETRIC: {{xfmr-assign-precision: '{{.*}}top1-sensitivities.json' holds top1 sensitivities, but the budget is kl}}
