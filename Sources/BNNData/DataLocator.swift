import BNN
import Foundation

/// Where the data lives: the data folder and the user's cache folder.
///
/// The data folder is, in order: an explicit path (`--data-dir`), else the environment variable
/// `BNN_DATA_DIR`, else the cache folder. The cache folder is `$XDG_CACHE_HOME/bnn`, else
/// `~/.cache/bnn`; it is the only place downloads are written (the data folder may be read-only).
/// Each holds `mnist/` and optionally `notmnist/`, with IDX files named as MNIST names them, raw or `.gz`.
public struct DataLocator: Sendable {
    /// The folder searched first.
    public let dataDirectory: URL
    /// The user's cache folder, searched second and the target of downloads.
    public let cacheDirectory: URL

    /// Resolves the folders from an explicit path and the environment.
    public init(dataDirectory explicit: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        let cache = DataLocator.cacheDirectory(environment: environment)
        cacheDirectory = cache
        if let explicit, !explicit.isEmpty {
            dataDirectory = URL(fileURLWithPath: DataLocator.expandTilde(explicit, environment: environment))
        } else if let fromEnvironment = environment["BNN_DATA_DIR"], !fromEnvironment.isEmpty {
            dataDirectory = URL(fileURLWithPath: DataLocator.expandTilde(fromEnvironment, environment: environment))
        } else {
            dataDirectory = cache
        }
    }

    /// `$XDG_CACHE_HOME/bnn`, else `~/.cache/bnn`.
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("bnn")
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache").appendingPathComponent("bnn")
    }

    static func expandTilde(_ path: String, environment: [String: String]) -> String {
        guard path == "~" || path.hasPrefix("~/") else { return path }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + path.dropFirst()
    }

    /// The folders searched, in order, without duplicates.
    public var searchDirectories: [URL] {
        dataDirectory.standardizedFileURL == cacheDirectory.standardizedFileURL ? [dataDirectory] : [dataDirectory, cacheDirectory]
    }

    /// `folder/name` or `folder/name.gz`, whichever exists (raw first).
    public static func existingFile(named name: String, in folder: URL) -> URL? {
        for candidate in [name, name + ".gz"] {
            let url = folder.appendingPathComponent(candidate)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return url
            }
        }
        return nil
    }

    /// The file `subfolder/name(.gz)` in the first search folder that has it.
    public func file(named name: String, in subfolder: String) -> URL? {
        for directory in searchDirectories {
            if let url = DataLocator.existingFile(named: name, in: directory.appendingPathComponent(subfolder)) {
                return url
            }
        }
        return nil
    }
}
