import BankSyncServer
import Logging
import Synchronization
import Testing

@Suite("Structured logs")
struct StructuredLogHandlerTests {
    final class Lines: Sendable {
        let storage = Mutex<[String]>([])
        var all: [String] { storage.withLock { $0 } }
    }

    func logger(_ format: LogFormat, _ lines: Lines) -> Logger {
        Logger(label: "banksync.test") { label in
            StructuredLogHandler(label: label, format: format, level: .info) { line in lines.storage.withLock { $0.append(line) } }
        }
    }

    @Test("logfmt lines carry level, message and metadata, quoting what needs it")
    func logfmt() {
        let lines = Lines()
        var log = logger(.logfmt, lines)
        log[metadataKey: "connection_id"] = "c-123"
        log.info("sync finished", metadata: ["job_id": "j 9", "note": "say \"hi\""])
        log.debug("hidden below the level")
        #expect(lines.all.count == 1)
        let line = lines.all[0]
        #expect(line.contains("level=info"))
        #expect(line.contains("msg=\"sync finished\""))
        #expect(line.contains("connection_id=c-123"))
        #expect(line.contains("job_id=\"j 9\""))
        #expect(line.contains(#"note="say \"hi\"""#))
        #expect(line.hasSuffix("\n"))
    }

    @Test("JSON lines are valid JSON objects with escaped strings")
    func json() throws {
        let lines = Lines()
        logger(.json, lines).warning("line\nbreak", metadata: ["connection_id": "c-1"])
        let object = try JSONSerialization.jsonObject(with: Data(lines.all[0].utf8)) as? [String: String]
        #expect(object?["msg"] == "line\nbreak")
        #expect(object?["level"] == "warning")
        #expect(object?["connection_id"] == "c-1")
    }
}

import Foundation
