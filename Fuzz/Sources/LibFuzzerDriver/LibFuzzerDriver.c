#include <stddef.h>
#include <stdint.h>
#include "LibFuzzerDriver.h"

// In libFuzzer's runtime (linked by -sanitize=fuzzer), and in the fuzz target (@_cdecl).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int relay_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
