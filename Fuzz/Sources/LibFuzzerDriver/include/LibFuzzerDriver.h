#ifndef LIB_FUZZER_DRIVER_H
#define LIB_FUZZER_DRIVER_H

/// Runs libFuzzer on the target's `LLVMFuzzerTestOneInput` with the process's arguments. SwiftPM
/// names an executable's entry point itself (`<target>_main`), so each fuzz target's `main.swift`
/// calls this instead of relying on libFuzzer's own `main`.
int relay_fuzz_main(int argc, char **argv);

#endif
