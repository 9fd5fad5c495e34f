/// Escaping of text for XML, XHTML and SVG.
///
/// Everything the report shows that did not come from our own string literals (data set names from
/// `--ood NAME=PATH`, file paths, class names in a model file) passes through here, so that a name such
/// as `<b>&` is shown as written and never breaks the document.
public enum XMLText {
    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities, and characters XML 1.0 forbids
    /// (C0 controls other than tab, newline and carriage return, lone surrogates, U+FFFE/U+FFFF)
    /// replaced by U+FFFD, so the result is safe both as element content and as an attribute value.
    public static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default:
                result.unicodeScalars.append(isAllowed(scalar) ? scalar : "\u{FFFD}")
            }
        }
        return result
    }

    /// Whether XML 1.0 allows `scalar` in a document (its `Char` production).
    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: return true
        case 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }
}
