import ArgumentParser
import Foundation
import Privacy

/// `byzsim dp`: the privacy accountant on its own, so anyone can check its figures.
struct DPCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "dp",
    abstract: "Differential-privacy accounting (RDP of the Sampled Gaussian Mechanism).",
    discussion: """
      Examples:
        byzsim dp epsilon --sigma 1.12 --sample-rate 0.0042666667 --steps 14062 --delta 1e-5
        byzsim dp sigma --target-epsilon 3 --sample-rate 0.0042666667 --steps 14062 --delta 1e-5 --json
      """,
    subcommands: [DPEpsilon.self, DPSigma.self])
}

/// Options shared by `dp epsilon` and `dp sigma`.
struct DPSchedule: ParsableArguments {
  @Option(help: "Poisson sampling rate q (batch size / data set size).")
  var sampleRate: Double
  @Option(help: "Number of noisy steps.")
  var steps: Int
  @Option(help: "δ of the (ε, δ) guarantee.")
  var delta: Double
  @Option(help: "RDP to (ε, δ): balle (Balle et al. 2020, as Opacus) or classic (rdp − ln δ/(α−1), as TF Privacy's tutorials).")
  var conversion: String = RDPAccountant.Conversion.balle2020.rawValue
  @Option(help: "Comma-separated RDP orders (default: Opacus's, 1.1–10.9 by 0.1 and 12–63).")
  var orders: String?

  func parsed() throws -> (RDPAccountant.Conversion, [Double]) {
    guard let c = RDPAccountant.Conversion(rawValue: conversion) else {
      throw ValidationError(
        "--conversion must be one of \(RDPAccountant.Conversion.allCases.map(\.rawValue).joined(separator: ", ")); got \(conversion)")
    }
    guard let orders else { return (c, RDPAccountant.defaultOrders) }
    var list: [Double] = []
    for item in orders.split(separator: ",") {
      guard let a = Double(item.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--orders: '\(item)' is not a number") }
      list.append(a)
    }
    return (c, list)
  }
}

struct DPEpsilon: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "epsilon",
    abstract: "ε spent by DP-SGD (noise multiplier σ, sampling rate q, T steps) for a δ, and the RDP order that gives it.",
    discussion: """
      Example (TensorFlow Privacy's MNIST tutorial: σ = 1.12, batch 256 of 60,000, 60 epochs):
        byzsim dp epsilon --sigma 1.12 --sample-rate 0.0042666667 --steps 14062 --delta 1e-5 --conversion classic
      --json prints {"epsilon": …, "order": …, "sigma": …, "sample_rate": …, "steps": …, "delta": …, "conversion": …}.
      """)
  @Option(help: "Noise multiplier σ (noise standard deviation / clipping norm).")
  var sigma: Double
  @OptionGroup var schedule: DPSchedule
  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    let (conversion, orders) = try schedule.parsed()
    do {
      print(try DPReport.line(sigma: sigma, schedule: schedule, orders: orders, conversion: conversion, json: json))
    } catch let e as RDPAccountant.Error {
      throw UserError(e.description)
    }
  }
}

struct DPSigma: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sigma",
    abstract: "The smallest noise multiplier σ that keeps DP-SGD within a target ε (for q, T steps and δ).",
    discussion: """
      --json prints the keys of `byzsim dp epsilon --json` for the σ found.

      Example:
        byzsim dp sigma --target-epsilon 3 --sample-rate 0.0042666667 --steps 14062 --delta 1e-5
      """)
  @Option(help: "The ε not to exceed.")
  var targetEpsilon: Double
  @OptionGroup var schedule: DPSchedule
  @Flag(help: "Print JSON.")
  var json = false

  func run() throws {
    let (conversion, orders) = try schedule.parsed()
    do {
      let sigma = try RDPAccountant.noiseMultiplier(
        targetEpsilon: targetEpsilon, delta: schedule.delta, sampleRate: schedule.sampleRate, steps: schedule.steps, orders: orders,
        conversion: conversion)
      print(try DPReport.line(sigma: sigma, schedule: schedule, orders: orders, conversion: conversion, json: json))
    } catch let e as RDPAccountant.Error {
      throw UserError(e.description)
    }
  }
}

enum DPReport {
  /// The report of the ε that `sigma` spends on `schedule`.
  static func line(sigma: Double, schedule: DPSchedule, orders: [Double], conversion: RDPAccountant.Conversion, json: Bool) throws -> String
  {
    let (epsilon, order) = try RDPAccountant.epsilon(
      sampleRate: schedule.sampleRate, sigma: sigma, steps: schedule.steps, delta: schedule.delta, orders: orders, conversion: conversion)
    return line(epsilon: epsilon, order: order, sigma: sigma, schedule: schedule, conversion: conversion, json: json)
  }

  static func line(
    epsilon: Double, order: Double?, sigma: Double, schedule: DPSchedule, conversion: RDPAccountant.Conversion, json: Bool
  ) -> String {
    func number(_ v: Double) -> String { v.isFinite ? "\(v)" : "null" }
    if json {
      return
        "{\"epsilon\":\(number(epsilon)),\"order\":\(order.map(number) ?? "null"),\"sigma\":\(number(sigma)),"
        + "\"sample_rate\":\(number(schedule.sampleRate)),\"steps\":\(schedule.steps),\"delta\":\(number(schedule.delta)),"
        + "\"conversion\":\"\(conversion.rawValue)\"}"
    }
    let e = epsilon.isFinite ? String(format: "%.6g", epsilon) : "∞ (no order gives a finite ε)"
    return
      "ε = \(e) at δ = \(schedule.delta)\(order.map { " (RDP order \($0))" } ?? "") for σ = \(sigma), q = \(schedule.sampleRate), \(schedule.steps) steps"
  }
}
