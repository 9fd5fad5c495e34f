import Foundation

/// An SVG drawing being built: a size and the markup of its elements.
///
/// Every attribute value and every text passes through `XMLText.escape`, so callers can hand it any
/// string. Coordinates are in pixels of the `viewBox`, with y growing downwards; numbers are written
/// with at most two decimals to keep documents small.
public struct SVGCanvas: Sendable {
    public let width: Double
    public let height: Double
    /// The markup of the elements drawn so far (no enclosing `<svg>`).
    public private(set) var body = ""

    public init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    /// A number as SVG writes it: at most two decimals, no trailing zeros, 0 for non-finite values.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int(rounded)) }
        var text = String(format: "%.2f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    /// Appends `<name attributes…>text</name>` (or a self-closed element without text); attributes
    /// whose value is nil are left out.
    public mutating func element(_ name: String, _ attributes: [(String, String?)], text: String? = nil) {
        body += "<" + name + Self.attributeList(attributes)
        if let text {
            body += ">" + XMLText.escape(text) + "</" + name + ">"
        } else {
            body += "/>"
        }
    }

    /// Appends a `<g>` holding what `build` draws (on a canvas of the same size).
    public mutating func group(_ attributes: [(String, String?)] = [], _ build: (inout SVGCanvas) -> Void) {
        var inner = SVGCanvas(width: width, height: height)
        build(&inner)
        body += "<g" + Self.attributeList(attributes) + ">" + inner.body + "</g>"
    }

    /// Appends the elements of `other`, moved by (`x`, `y`).
    public mutating func place(_ other: SVGCanvas, x: Double, y: Double) {
        body += "<g transform=\"translate(\(Self.number(x)),\(Self.number(y)))\">" + other.body + "</g>"
    }

    // MARK: Shapes

    public mutating func rect(_ r: Rect, fill: String, stroke: String? = nil, strokeWidth: Double? = nil,
                              opacity: Double? = nil, tooltip: String? = nil, attributes: [(String, String?)] = []) {
        let base: [(String, String?)] = [
            ("x", Self.number(r.x)), ("y", Self.number(r.y)),
            ("width", Self.number(max(r.width, 0))), ("height", Self.number(max(r.height, 0))),
            ("fill", fill), ("stroke", stroke), ("stroke-width", strokeWidth.map(Self.number)),
            ("fill-opacity", opacity.map(Self.number)),
        ]
        if let tooltip {
            body += "<rect" + Self.attributeList(base + attributes) + "><title>" + XMLText.escape(tooltip) + "</title></rect>"
        } else {
            element("rect", base + attributes)
        }
    }

    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String, width: Double = 1,
                              dash: String? = nil) {
        element("line", [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
                         ("stroke", stroke), ("stroke-width", Self.number(width)), ("stroke-dasharray", dash)])
    }

    /// An open polyline through `points`.
    public mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5, dash: String? = nil) {
        guard !points.isEmpty else { return }
        let list = points.map { Self.number($0.0) + "," + Self.number($0.1) }.joined(separator: " ")
        element("polyline", [("points", list), ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
                             ("stroke-dasharray", dash), ("stroke-linejoin", "round")])
    }

    /// A closed polygon through `points`.
    public mutating func polygon(_ points: [(Double, Double)], fill: String, opacity: Double? = nil) {
        guard !points.isEmpty else { return }
        let list = points.map { Self.number($0.0) + "," + Self.number($0.1) }.joined(separator: " ")
        element("polygon", [("points", list), ("fill", fill), ("fill-opacity", opacity.map(Self.number))])
    }

    public mutating func circle(x: Double, y: Double, radius: Double, fill: String, stroke: String? = nil,
                                tooltip: String? = nil) {
        let attributes: [(String, String?)] = [("cx", Self.number(x)), ("cy", Self.number(y)), ("r", Self.number(radius)),
                                               ("fill", fill), ("stroke", stroke)]
        if let tooltip {
            body += "<circle" + Self.attributeList(attributes) + "><title>" + XMLText.escape(tooltip) + "</title></circle>"
        } else {
            element("circle", attributes)
        }
    }

    /// How text is anchored horizontally at its x.
    public enum Anchor: String, Sendable { case start, middle, end }

    /// Text with its baseline at `y`; `rotation` in degrees about (x, y).
    public mutating func text(_ string: String, x: Double, y: Double, size: Double = 12, anchor: Anchor = .start,
                              weight: String? = nil, fill: String = Palette.text, rotation: Double? = nil,
                              attributes: [(String, String?)] = []) {
        element("text", [("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)),
                         ("text-anchor", anchor == .start ? nil : anchor.rawValue), ("font-weight", weight),
                         ("fill", fill),
                         ("transform", rotation.map { "rotate(\(Self.number($0)) \(Self.number(x)) \(Self.number(y)))" })]
                + attributes, text: string)
    }

    /// A PNG shown in `frame`, scaled without smoothing so that each pixel stays a visible square.
    public mutating func image(png: [UInt8], in frame: Rect, label: String? = nil) {
        let uri = "data:image/png;base64," + Data(png).base64EncodedString()
        element("image", [("x", Self.number(frame.x)), ("y", Self.number(frame.y)),
                          ("width", Self.number(frame.width)), ("height", Self.number(frame.height)),
                          ("href", uri), ("preserveAspectRatio", "none"),
                          ("image-rendering", "pixelated"), ("style", "image-rendering:pixelated"),
                          ("aria-label", label)])
    }

    // MARK: Documents

    /// The `<svg>` element: for a standalone `.svg` file with an XML declaration, else for inlining in HTML.
    /// `title` becomes the accessible name (and the tooltip of the whole drawing).
    public func document(title: String? = nil, standalone: Bool = false, attributes: [(String, String?)] = []) -> String {
        var text = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        let root: [(String, String?)] = [
            ("xmlns", "http://www.w3.org/2000/svg"),
            ("viewBox", "0 0 \(Self.number(width)) \(Self.number(height))"),
            ("width", Self.number(width)), ("height", Self.number(height)),
            ("role", "img"), ("font-family", Palette.fontFamily), ("font-size", "12"),
        ]
        text += "<svg" + Self.attributeList(root + attributes) + ">"
        if let title { text += "<title>" + XMLText.escape(title) + "</title>" }
        if standalone {
            // A white ground: image viewers otherwise show transparent areas as a checkerboard or black.
            text += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
        }
        return text + body + "</svg>" + (standalone ? "\n" : "")
    }

    static func attributeList(_ attributes: [(String, String?)]) -> String {
        var text = ""
        for (name, value) in attributes {
            guard let value else { continue }
            text += " " + name + "=\"" + XMLText.escape(value) + "\""
        }
        return text
    }
}

/// A rectangle in drawing coordinates.
public struct Rect: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var maxX: Double { x + width }
    public var maxY: Double { y + height }
    public var midX: Double { x + width / 2 }
    public var midY: Double { y + height / 2 }

    /// The rectangle shrunk by the given margins.
    public func inset(top: Double = 0, left: Double = 0, bottom: Double = 0, right: Double = 0) -> Rect {
        Rect(x: x + left, y: y + top, width: width - left - right, height: height - top - bottom)
    }
}
