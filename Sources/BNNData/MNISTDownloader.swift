import BNN
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads MNIST files from the public mirrors into the cache folder.
///
/// Each file is fetched as `<mirror><name>.gz`, decompressed and parsed (a malformed download is
/// refused), its content's SHA-256 compared with the published value when one is known (a mismatch
/// is refused and the next mirror tried), then written to a temporary file beside the target and
/// renamed into place, so a reader never sees half a file.
enum MNISTDownloader {
    /// Fetches the bytes at a URL; replaced in tests.
    typealias Fetch = (URL) throws -> Data

    /// Downloads `name` into `folder/name.gz` and returns that URL.
    static func download(
        name: String, into folder: URL, mirrors: [String] = MNIST.mirrors,
        fetch: Fetch = fetchSynchronously, log: (String) -> Void
    ) throws -> URL {
        let target = folder.appendingPathComponent(name + ".gz")
        try AtomicFile.createFolder(folder)
        var failures: [String] = []
        for mirror in mirrors {
            guard let url = URL(string: mirror + name + ".gz") else { continue }
            log("downloading \(url.absoluteString)")
            do {
                let compressed = [UInt8](try fetch(url))
                let content = try IDXFile.decompressIfNeeded(compressed, path: url.absoluteString)
                _ = try IDXFile(parsing: content, path: url.absoluteString)
                let found = SHA256.hash(content).hexString
                if let published = MNIST.publishedChecksums[name], found != published {
                    throw DataError.checksumMismatch(path: url.absoluteString, expected: published, found: found)
                }
                try AtomicFile.write(Data(Zlib.isGzip(compressed) ? compressed : Zlib.compress(content)), to: target)
                return target
            } catch DataError.downloadFailed(let source, let reason) {
                failures.append("\(source): \(reason)")  // the hint is added once, to the error below
            } catch {
                failures.append("\(error)")
            }
        }
        throw DataError.downloadFailed(
            path: target.path, reason: failures.isEmpty ? "no mirror" : failures.joined(separator: "; "))
    }

    /// The result of a fetch, handed from URLSession's callback thread.
    private final class Outcome: @unchecked Sendable {
        let lock = NSLock()
        var data: Data?
        var failure: String?
    }

    /// A blocking HTTP GET with a timeout.
    static func fetchSynchronously(_ url: URL) throws -> Data {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 60)
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            outcome.lock.lock()
            if let error {
                outcome.failure = error.localizedDescription
            } else if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
                outcome.failure = "HTTP status \(http.statusCode)"
            } else {
                outcome.data = data ?? Data()
            }
            outcome.lock.unlock()
            done.signal()
        }
        task.resume()
        done.wait()
        outcome.lock.lock()
        defer { outcome.lock.unlock() }
        if let data = outcome.data { return data }
        throw DataError.downloadFailed(path: url.absoluteString, reason: outcome.failure ?? "no data")
    }
}
