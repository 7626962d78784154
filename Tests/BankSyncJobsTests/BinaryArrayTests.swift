@testable import BankSyncJobs
import NIOCore
import PostgresNIO
import Testing

/// PostgreSQL's binary array format as the claim reads it (the claimed jobs come back as arrays).
@Suite("Binary arrays")
struct BinaryArrayTests {
    /// A one-dimensional array of `type` with `elements` (nil for NULL) in the wire format.
    static func array(_ type: PostgresDataType, _ elements: [[UInt8]?]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeMultipleIntegers(Int32(1), Int32(elements.contains { $0 == nil } ? 1 : 0), type.rawValue, Int32(elements.count), Int32(1))
        for element in elements {
            if let element {
                buffer.writeInteger(Int32(element.count))
                buffer.writeBytes(element)
            } else {
                buffer.writeInteger(Int32(-1))
            }
        }
        return buffer
    }

    static func int8(_ value: Int64) -> [UInt8] {
        var buffer = ByteBuffer()
        buffer.writeInteger(value)
        return Array(buffer.readableBytesView)
    }

    @Test("text elements come back in order, NULL as nil and the empty string as itself")
    func text() throws {
        var array = try #require(BinaryArray(Self.array(.text, [Array("job-1".utf8), nil, [], Array("é".utf8)])))
        #expect(array.elementType == .text)
        #expect(array.count == 4)
        #expect(array.nextText() == .some("job-1"))
        #expect(array.nextText() == .some(nil))
        #expect(array.nextText() == .some(""))
        #expect(array.nextText() == .some("é"))
        #expect(array.nextText() == nil)  // past the end
    }

    @Test("int8 elements read as Int64, including the extremes; a wrong width is refused")
    func integers() throws {
        var array = try #require(BinaryArray(Self.array(.int8, [Self.int8(.min), Self.int8(0), Self.int8(.max), nil, [1, 2, 3, 4]])))
        #expect(array.nextInt64() == .some(.min))
        #expect(array.nextInt64() == .some(0))
        #expect(array.nextInt64() == .some(.max))
        #expect(array.nextInt64() == .some(nil))
        #expect(array.nextInt64() == nil)  // four bytes are not an int8
    }

    @Test("an empty array (no dimensions) has no elements; two dimensions and truncated data are refused")
    func shapes() throws {
        var empty = ByteBuffer()
        empty.writeMultipleIntegers(Int32(0), Int32(0), PostgresDataType.text.rawValue)
        var none = try #require(BinaryArray(empty))
        #expect(none.count == 0)
        #expect(none.nextText() == nil)

        var matrix = ByteBuffer()
        matrix.writeMultipleIntegers(Int32(2), Int32(0), PostgresDataType.int8.rawValue, Int32(1), Int32(1), Int32(1), Int32(1))
        #expect(BinaryArray(matrix) == nil)

        var header = ByteBuffer()
        header.writeMultipleIntegers(Int32(1), Int32(0))
        #expect(BinaryArray(header) == nil)

        var cut = Self.array(.text, [Array("abcdef".utf8)])
        cut.moveWriterIndex(to: cut.writerIndex - 2)
        var truncated = try #require(BinaryArray(cut))
        #expect(truncated.nextText() == nil)
    }
}
