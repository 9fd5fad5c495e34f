import Foundation

/// A duration as every command, table and report shows it: `58m 17s` from a minute up, `12.3s` below.
/// One format everywhere, so that figures printed side by side compare at a glance.
public func formatDuration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    if seconds >= 60 { return String(format: "%dm %02ds", Int(seconds) / 60, Int(seconds) % 60) }
    return String(format: "%.1fs", seconds)
}
