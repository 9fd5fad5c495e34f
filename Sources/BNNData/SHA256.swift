import BNN

/// SHA-256 (FIPS 180-4, section 6.2), used to verify downloaded and local data files.
///
/// Incremental: `update` with any number of byte chunks, then `finalize`. `SHA256.hash(_:)` does both.
public struct SHA256: Sendable {
    /// The 32-byte hash value.
    public struct Digest: Sendable, Equatable, CustomStringConvertible {
        /// The hash bytes, most significant first.
        public let bytes: [UInt8]
        /// Lower-case hexadecimal, 64 characters.
        public var hexString: String {
            let digits: [Character] = Array("0123456789abcdef")
            var result = ""
            result.reserveCapacity(64)
            for byte in bytes {
                result.append(digits[Int(byte >> 4)])
                result.append(digits[Int(byte & 0x0f)])
            }
            return result
        }
        public var description: String { hexString }
    }

    /// The round constants K (first 32 bits of the fractional parts of the cube roots of the first 64 primes).
    static let roundConstants: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// H(0): first 32 bits of the fractional parts of the square roots of the first 8 primes.
    var state: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    /// Bytes of an incomplete block waiting for more input.
    var pending: [UInt8] = []
    /// The message length so far, in bytes.
    var length: UInt64 = 0

    /// A hasher with no input yet.
    public init() {}

    /// The SHA-256 of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The SHA-256 of the UTF-8 bytes of `string`.
    public static func hash(_ string: String) -> Digest { hash(Array(string.utf8)) }

    /// Adds bytes to the message.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds bytes to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending += bytes[0..<take]
            offset = take
            if pending.count == 64 {
                let block = pending
                block.withUnsafeBytes { compress(blocks: $0, count: 1) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        let whole = (bytes.count - offset) / 64
        if whole > 0, let base = bytes.baseAddress {
            compress(blocks: UnsafeRawBufferPointer(start: base + offset, count: whole * 64), count: whole)
            offset += whole * 64
        }
        if offset < bytes.count { pending += bytes[offset...] }
    }

    /// Pads the message (a 1 bit, zeros, the 64-bit bit length) and returns the hash.
    public mutating func finalize() -> Digest {
        let bitLength = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBytes { compress(blocks: $0, count: tail.count / 64) }
        pending = []
        var result: [UInt8] = []
        result.reserveCapacity(32)
        for word in state { result += [UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff)] }
        return Digest(bytes: result)
    }

    /// The compression function over `count` consecutive 64-byte blocks.
    private mutating func compress(blocks: UnsafeRawBufferPointer, count: Int) {
        var h0 = state[0], h1 = state[1], h2 = state[2], h3 = state[3]
        var h4 = state[4], h5 = state[5], h6 = state[6], h7 = state[7]
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
            SHA256.roundConstants.withUnsafeBufferPointer { k in
                for block in 0..<count {
                    let base = block * 64
                    for t in 0..<16 {
                        let at = base + 4 * t
                        schedule[t] = UInt32(blocks[at]) << 24 | UInt32(blocks[at + 1]) << 16
                            | UInt32(blocks[at + 2]) << 8 | UInt32(blocks[at + 3])
                    }
                    for t in 16..<64 {
                        let w15 = schedule[t - 15], w2 = schedule[t - 2]
                        let sigma0 = w15.rotatedRight(7) ^ w15.rotatedRight(18) ^ (w15 >> 3)
                        let sigma1 = w2.rotatedRight(17) ^ w2.rotatedRight(19) ^ (w2 >> 10)
                        schedule[t] = sigma1 &+ schedule[t - 7] &+ sigma0 &+ schedule[t - 16]
                    }
                    var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                    for t in 0..<64 {
                        let bigSigma1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
                        let choose = (e & f) ^ (~e & g)
                        let t1 = h &+ bigSigma1 &+ choose &+ k[t] &+ schedule[t]
                        let bigSigma0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
                        let majority = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = bigSigma0 &+ majority
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                    }
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
                    h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                }
            }
        }
        state = [h0, h1, h2, h3, h4, h5, h6, h7]
    }
}

extension UInt32 {
    /// Rotation to the right by `count` bits (0 < count < 32).
    @inline(__always)
    fileprivate func rotatedRight(_ count: UInt32) -> UInt32 { (self >> count) | (self << (32 - count)) }
}
