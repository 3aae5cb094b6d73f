import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@testable import Experiments

/// The figures' axes and bands, against values worked out by hand.
@Suite struct FigureTests {
  static func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-9 } }

  @Test func ticksFallOnOneTwoFiveSteps() {
    #expect(Self.close(SVG.ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    // (37 − 1) / 5 = 7.2 → the next 1-2-5 step is 10: 10, 20, 30 (odd rounds like 5, 12, 19 never appear).
    #expect(Self.close(SVG.ticks(1, 37), [10, 20, 30]))
    #expect(Self.close(SVG.ticks(0, 100, count: 6, integers: true), [0, 20, 40, 60, 80, 100]))
    // 3 rounds: a step of 0.5 would be fractional rounds; integers keep 1.
    #expect(Self.close(SVG.ticks(1, 3, count: 6, integers: true), [1, 2, 3]))
    #expect(Self.close(SVG.ticks(0, 0.35), [0, 0.1, 0.2, 0.3]))
    // (0.9 − 0.6) / 5 = 0.06 → 0.1.
    #expect(Self.close(SVG.ticks(0.6, 0.9), [0.6, 0.7, 0.8, 0.9]))
    #expect(SVG.tickLabel(0.2, step: 0.2) == "0.2" && SVG.tickLabel(20, step: 20) == "20" && SVG.tickLabel(0.05, step: 0.05) == "0.05")
    #expect(!SVG.ticks(-0.2, 0.2).map { SVG.tickLabel($0, step: 0.1) }.contains("-0.0"))
  }

  /// x = 1, 2, 3, 4: mean 2.5, s = √(5/3) = 1.290994, s/√n = 0.645497, t(0.975, 3) = 3.182.
  @Test func bandsAreTheStatisticTheyName() throws {
    let x = [1.0, 2, 3, 4]
    #expect(abs(try #require(Band.sd.halfWidth(x)) - 1.290994) < 1e-6)
    #expect(abs(try #require(Band.se.halfWidth(x)) - 0.645497) < 1e-6)
    #expect(abs(try #require(Band.ci95.halfWidth(x)) - 3.182 * 0.645497) < 1e-4)
    #expect(Band.none.halfWidth(x) == nil && Band.sd.halfWidth([1]) == nil)
    #expect(Band.ci95.caption(n: 3) == "band: 95% CI of the mean (Student's t), n = 3")
    #expect(Band.sd.caption(n: 1) == "n = 1: no band")
  }

  /// 2 aggregators × 4 attacks = 8 series, more than one panel shows: one panel per aggregator,
  /// each with the 4 attacks labelled by the attack alone, the same colour order in both.
  @Test func manySeriesBecomeSmallMultiples() throws {
    let spec = try SweepSpec.load(
      path: SweepSpecTests.files(
        """
        name = "s"
        base = "base.toml"
        [grid]
        "coordinator.aggregator" = ["median", { name = "trimmed_mean", f = 3 }]
        "workers[1].behavior" = ["alie", "ipm", "sign_flip", "gaussian"]
        """))
    let series = spec.cells.enumerated().map { k, _ in SVG.Series(label: "x", x: [1, 2, 3], y: [0.1, 0.2, 0.3 + Double(k) / 100]) }
    #expect(series.count > Report.maxSeriesPerPanel)
    let panels = Report.smallMultiples(Array(zip(spec.cells, series)))
    #expect(panels.map(\.title) == ["coordinator.aggregator = median", "coordinator.aggregator = trimmed_mean f=3"])
    #expect(panels[1].series.map(\.label) == ["c005 alie", "c006 ipm", "c007 sign_flip", "c008 gaussian"])
    #expect(panels[1].series[3].y == series[7].y)
    let svg = SVG.smallMultiples(title: "s: test accuracy", xLabel: "round", yLabel: "test accuracy", panels: panels)
    let nested = svg.components(separatedBy: "<svg x=\"").dropFirst().map { $0.prefix(while: { $0 != "\"" }) }
    #expect(nested == ["0.00", "620.00"])  // two panels side by side
    #expect(svg.hasPrefix("<svg xmlns=") && svg.contains("width=\"1240\" height=\"356\""))
    #expect(try XMLDocument(xmlString: svg).rootElement()?.name == "svg")
  }

  /// A [[cells]] list where one cell sets a key the other leaves unset: the unset key adds
  /// nothing to the label (no trailing " · "), and an array of tables reads item by item.
  @Test func cellLabelsSkipUnsetKeysAndReadArraysInWords() throws {
    let spec = try SweepSpec.load(
      path: SweepSpecTests.files(
        """
        name = "s"
        base = "base.toml"
        [[cells]]
        "coordinator.aggregator" = "median"
        [[cells]]
        "coordinator.aggregator" = "median"
        "coordinator.preaggregators" = [{ name = "bucketing", s = 2 }, { name = "nnm", f = 1 }]
        [[cells]]
        "coordinator.aggregator" = "mean"
        "coordinator.preaggregators" = []
        """))
    #expect(spec.cells.map { GridColumns.label($0) } == ["median", "median · bucketing s=2 + nnm f=1", "mean · none"])
  }

  /// Differences from a baseline: −0.2 dark red (178, 24, 43), 0 white, +0.2 dark blue (33, 102, 172).
  @Test func divergingHeatmapsCentreOnZero() {
    #expect(SVG.shade(0, diverging: true) == "rgb(178,24,43)" && SVG.shade(1, diverging: true) == "rgb(33,102,172)")
    #expect(SVG.shade(0.5, diverging: true) == "rgb(255,255,255)")
    let svg = SVG.heatmap(
      title: "t", rowLabels: ["a", "b", "c"], columnLabels: ["x"], values: [[-0.2], [0], [0.16]], range: -0.2...0.2, format: "%+.3f",
      diverging: true)
    #expect(svg.contains(">-0.200<") && svg.contains(">+0.000<") && svg.contains(">+0.160<") && svg.contains(">+0.200<"))
    #expect(svg.contains("fill=\"rgb(178,24,43)\" stroke") && svg.contains("fill=\"rgb(255,255,255)\" stroke"))
    // +0.16: t = 0.9, 0.8 of the way to dark blue: 255 − 0.8·(222, 153, 83) = (77.4, 132.6, 188.6), rounded.
    #expect(svg.contains("fill=\"rgb(77,133,189)\" stroke"))
  }

  @Test func heatmapsFitTheirScaleAndShowItsBar() {
    #expect(SVG.fittedRange([0.63, 0.75, 0.7]) == 0.63...0.75)
    #expect(SVG.fittedRange([0.5]) == 0...1 && SVG.fittedRange([]) == 0...1)
    let svg = SVG.heatmap(
      title: "t", rowLabels: ["mean", "median"], columnLabels: ["alie"], values: [[0.63], [0.75]], range: 0.63...0.75,
      rowTitle: "coordinator.aggregator", columnTitle: "workers[1].behavior", errors: [[0.01], [nil]])
    // 0.63 is the scale's white end, 0.75 its dark end: different colours.
    #expect(svg.contains("fill=\"rgb(247,251,255)\"") && svg.contains("fill=\"rgb(8,48,107)\""))
    #expect(svg.contains(">0.630 ± 0.010<") && svg.contains(">0.750<") && svg.contains(">0.690<"))  // cells and the bar's middle
    #expect(svg.contains(">coordinator.aggregator<") && svg.contains(">workers[1].behavior<"))
  }
}
