import Testing
@testable import BNN
@testable import BNNData

@Suite struct SHA256DataTests {
    /// The FIPS 180-4 / NIST example vectors.
    @Test func standardVectors() {
        #expect(SHA256.hash("").hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hash("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").hexString
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hexString
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding the message in uneven chunks gives the same hash as one call.
    @Test func incrementalMatchesOneShot() {
        let message = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = SHA256.hash(message)
        for chunkSize in [1, 3, 63, 64, 65, 200] {
            var hasher = SHA256()
            var start = 0
            while start < message.count {
                let end = min(start + chunkSize, message.count)
                hasher.update(Array(message[start..<end]))
                start = end
            }
            #expect(hasher.finalize() == expected, "chunk size \(chunkSize)")
        }
    }

    /// Messages whose padding crosses a block boundary (55, 56, 64 bytes).
    @Test func paddingBoundaries() {
        // Independent values (computed with sha256sum).
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 55)).hexString
                == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 56)).hexString
                == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 64)).hexString
                == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
    }
}
