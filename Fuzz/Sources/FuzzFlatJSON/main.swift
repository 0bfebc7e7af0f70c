import Glibc
import LibFuzzerDriver

exit(relay_fuzz_main(CommandLine.argc, CommandLine.unsafeArgv))
