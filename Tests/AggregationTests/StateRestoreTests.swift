import Testing
@testable import Aggregation

/// A rule's history comes back from a checkpoint file: every count, length and id in it is
/// checked before it is used (no trap on NaN or a huge count, no overflow).
@Suite struct StateRestoreTests {
  @Test func foolsGoldRefusesMalformedState() throws {
    var fg = try FoolsGold()
    #expect(throws: AggregationError.self) { try fg.restore(state: [.nan, 3]) }
    #expect(throws: AggregationError.self) { try fg.restore(state: [1e30, 1e30, 0]) }
    #expect(throws: AggregationError.self) { try fg.restore(state: [2.5, 1, 0, 5, 1, 6]) }
    #expect(throws: AggregationError.self) { try fg.restore(state: [2, 1, 0, 5, 0, 6]) }  // worker 0 twice
    #expect(throws: AggregationError.self) { try fg.restore(state: [2, 1, 0, 5, -1, 6]) }
    try fg.restore(state: [2, 1, 0, 5, 1, 6])  // workers 0 and 1, one value each
    #expect(fg.state == [2, 1, 0, 5, 1, 6])
  }
}
