import Foundation

/// Reads a duration the way operators write one: Go style (`30m`, `1h30m`,
/// `45s`, `1.5s`, `500ms`) or a bare number of seconds. `0`, `none` and `off`
/// mean no limit (nil). Returns .failure with a sentence for anything else.
public func parseDuration(_ text: String) -> Result<Duration?, DurationSyntaxError> {
    let text = text.trimmingCharacters(in: .whitespaces).lowercased()
    if ["none", "off", "0"].contains(text) { return .success(nil) }
    if let seconds = Double(text) {
        guard seconds.isFinite, seconds >= 0, seconds < 1e9 else { return .failure(DurationSyntaxError(text: text)) }
        return .success(seconds == 0 ? nil : .milliseconds(Int64((seconds * 1000).rounded())))
    }
    let units: [(String, Double)] = [("ms", 0.001), ("h", 3600), ("m", 60), ("s", 1)]
    var rest = Substring(text)
    var total = 0.0
    while !rest.isEmpty {
        let number = rest.prefix { $0.isNumber || $0 == "." }
        guard !number.isEmpty, let value = Double(number) else { return .failure(DurationSyntaxError(text: text)) }
        rest = rest.dropFirst(number.count)
        guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else {
            return .failure(DurationSyntaxError(text: text))
        }
        rest = rest.dropFirst(unit.0.count)
        total += value * unit.1
    }
    guard total.isFinite, total < 1e9 else { return .failure(DurationSyntaxError(text: text)) }
    return .success(total == 0 ? nil : .milliseconds(Int64((total * 1000).rounded())))
}

public struct DurationSyntaxError: Error, CustomStringConvertible {
    var text: String
    public var description: String { "'\(text)' is not a duration (examples: 30m, 1h30m, 90s, 500ms, none)" }
}
