#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Makes standard output line-buffered, so progress lines appear as they are printed even when
/// the output is a pipe or a file (the C library buffers those in blocks).
enum LineBufferedOutput {
    static func enable() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }
}
