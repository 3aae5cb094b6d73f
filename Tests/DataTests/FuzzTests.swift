import Foundation
import TestSupport
import Testing
@testable import Data

/// Seeded fuzzing (10⁵ mutated inputs each, from valid seeds) of the ingestion parsers: IDX,
/// gzip, and the updates CSV of `byzsim aggregate`. Every input parses or throws the module's
/// error naming the file — never a trap, never another error type.
@Suite struct DataFuzzTests {
  static let iterations = 100_000

  static func idxImages() -> [UInt8] { Fixtures.idx(dims: [2, 3, 2], payload: (0..<12).map { UInt8($0 * 20) }) }
  static func idxLabels() -> [UInt8] { Fixtures.idx(dims: [3], payload: [1, 0, 9]) }

  @Test func idx() {
    var m = Mutator(seed: 3, seeds: [Self.idxImages(), Self.idxLabels()])
    var ok = 0
    for _ in 0..<Self.iterations {
      let input = m.next()
      for rank in [1, 3] {
        do {
          let a = try IDXArray(parsing: input, path: "f.idx", expectedRank: rank)
          #expect(a.bytes.count == a.dimensions.reduce(1, *))
          ok += 1
        } catch let e as DataError {
          #expect(e.description.hasPrefix("f.idx"))
        } catch {
          Issue.record("not a DataError: \(error)")
        }
      }
    }
    #expect(ok > 100)
  }

  @Test func gzip() throws {
    // Seeds compressed by the system gzip, an implementation independent of ours.
    let dir = Fixtures.temporaryDirectory()
    var seeds: [[UInt8]] = []
    for (name, bytes) in [("i", Self.idxImages()), ("l", Self.idxLabels())] {
      let url = dir.appendingPathComponent(name)
      Fixtures.write(bytes, to: url)
      seeds.append([UInt8](try Data(contentsOf: Fixtures.gzip(url))))
    }
    var m = Mutator(seed: 4, seeds: seeds)
    var ok = 0
    for _ in 0..<Self.iterations {
      do {
        let out = try Gzip.inflate(m.next(), path: "f.gz", limit: 1 << 16)
        #expect(out.count <= 1 << 16)
        ok += 1
      } catch let e as DataError {
        #expect(e.description.hasPrefix("f.gz"))
      } catch {
        Issue.record("not a DataError: \(error)")
      }
    }
    #expect(ok > 100)
  }

  @Test func updatesCSV() {
    let seeds = ["1,2,3\n4,5,6\n", "0.5, -1e-3 ,nan\r\n2,inf,-0\n\n", "1e38,-1e38\n3,4"].map { Array($0.utf8) }
    var m = Mutator(seed: 5, seeds: seeds)
    var ok = 0
    for _ in 0..<Self.iterations {
      let input = m.next()
      do {
        let rows = try CSVMatrix.parse(input, path: "u.csv")
        #expect(!rows.isEmpty && rows.allSatisfy { $0.count == rows[0].count })
        #expect(!input.contains(0))
        ok += 1
      } catch let e as CSVMatrix.Error {
        #expect(e.description.hasPrefix("u.csv"))
      } catch {
        Issue.record("not a CSVMatrix.Error: \(error)")
      }
    }
    #expect(ok > 1_000)
  }

  @Test func csvRefusesNULAndControlBytes() throws {
    #expect(throws: CSVMatrix.Error(path: "u.csv", line: 2, message: "a NUL byte at offset 6: not a text file")) {
      try CSVMatrix.parse(Array("1,2,3\n\u{0}4,5,6\n".utf8), path: "u.csv")
    }
    #expect(throws: CSVMatrix.Error.self) { try CSVMatrix.parse([0x31, 0x2C, 0x32, 0x1B, 0x0A], path: "u.csv") }
    #expect(throws: CSVMatrix.Error.self) { try CSVMatrix.parse([0x31, 0xFF, 0x0A], path: "u.csv") }
    #expect(try CSVMatrix.parse(Array("1, 2\n3,4\n".utf8), path: "u.csv") == [[1, 2], [3, 4]])
    // Windows line ends ("\r\n" is a single Swift Character, so lines split on bytes).
    #expect(try CSVMatrix.parse(Array("1,2\r\n3,4\r\n".utf8), path: "u.csv") == [[1, 2], [3, 4]])
  }
}
