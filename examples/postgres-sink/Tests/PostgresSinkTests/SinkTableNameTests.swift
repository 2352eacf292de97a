// The table's name is the one piece of SQL text that does not travel as a bind parameter.

@testable import PostgresSink
import Testing

@Suite struct SinkTableNameTests {
    @Test(arguments: ["sink_events", "_t", "events2", String(repeating: "a", count: 63)])
    func plainLowercaseIdentifiersAreAccepted(name: String) {
        #expect(SinkTable.isPlainIdentifier(name))
    }

    @Test(arguments: ["", "Events", "2events", "sink-events", "a b", #"x"; DROP TABLE y; --"#, "é", String(repeating: "a", count: 64)])
    func anythingElseIsRefused(name: String) {
        #expect(!SinkTable.isPlainIdentifier(name))
    }
}
