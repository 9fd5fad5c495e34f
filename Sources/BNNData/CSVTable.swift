import BNN

/// A CSV file's cells: a header row naming the columns, then data rows of as many cells.
///
/// RFC 4180 with the usual leniencies: fields separated by commas, records by LF, CRLF or CR; a field may
/// be quoted (`"a, b"`, with `""` for a quote inside); a leading UTF-8 byte-order mark and blank lines are
/// skipped; cells and names are trimmed of surrounding spaces.
struct CSVTable {
    /// The column names, in file order.
    var header: [String]
    /// The data rows, each with `header.count` cells.
    var rows: [[String]]
    /// The line (1-based, the header being line 1) on which each data row starts.
    var lines: [Int]

    /// Parses the CSV at `path`, refusing an empty file, a header without data rows, unnamed or repeated
    /// column names and rows of another length than the header.
    init(path: String) throws {
        let bytes = try DataError.readFile(path, hint: "expected a CSV file with a header row")
        try self.init(bytes: bytes, path: path)
    }

    init(bytes: [UInt8], path: String) throws {
        var records: [([String], Int)] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, recordLine = 1
        var index = bytes.starts(with: [0xef, 0xbb, 0xbf]) ? 3 : 0
        var quoted = false, wasQuoted = false
        func endField() {
            let text = String(decoding: field, as: UTF8.self)
            fields.append(wasQuoted ? text : text.trimmingSpaces)
            field.removeAll(keepingCapacity: true)
            wasQuoted = false
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((fields, recordLine)) }
            fields.removeAll(keepingCapacity: true)
        }
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == 0x0a || (byte == 0x0d && (index + 1 >= bytes.count || bytes[index + 1] != 0x0a)) { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: ","):
                    endField()
                case 0x0a, 0x0d:
                    if byte == 0x0d && index + 1 < bytes.count && bytes[index + 1] == 0x0a { index += 1 }
                    endRecord()
                    line += 1
                    recordLine = line
                case UInt8(ascii: "\"") where field.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) && !wasQuoted:
                    field.removeAll()
                    quoted = true
                    wasQuoted = true
                default:
                    if wasQuoted && byte != 0x20 && byte != 0x09 {
                        throw DataError.badDataSet(path: path, reason: "line \(line): unexpected text after a closing quote (a quote inside a quoted field is written \"\")")
                    }
                    if !wasQuoted { field.append(byte) }
                }
            }
            index += 1
        }
        if quoted { throw DataError.badDataSet(path: path, reason: "line \(recordLine): a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty || wasQuoted { endRecord() }
        guard let first = records.first else {
            throw DataError.badDataSet(path: path, reason: "empty CSV: expected a header row of column names, then data rows")
        }
        header = first.0
        for (position, name) in header.enumerated() {
            if name.isEmpty { throw DataError.badDataSet(path: path, reason: "column \(position + 1) of the header has no name") }
            if header[..<position].contains(name) {
                throw DataError.badDataSet(path: path, reason: "column name \"\(name)\" appears twice in the header")
            }
        }
        guard records.count > 1 else {
            throw DataError.badDataSet(path: path, reason: "no data rows after the header (columns: \(CSVTable.list(header)))")
        }
        rows = []
        lines = []
        rows.reserveCapacity(records.count - 1)
        for (cells, line) in records.dropFirst() {
            guard cells.count == header.count else {
                throw DataError.badDataSet(path: path, reason: "line \(line) has \(cells.count) cells but the header has \(header.count) columns")
            }
            rows.append(cells)
            lines.append(line)
        }
    }

    /// The position of column `name`, or a `badDataSet` error naming the columns there are.
    func column(_ name: String, path: String) throws -> Int {
        guard let position = header.firstIndex(of: name) else {
            throw DataError.badDataSet(path: path, reason: "no label column \"\(name)\"; the columns are \(CSVTable.list(header))")
        }
        return position
    }

    /// The cells of `columns` as `[rows.count, columns.count]` numbers, refusing a cell that is not a
    /// finite number with its line and column name.
    func numbers(columns: [Int], path: String, labelColumn: String?) throws -> Tensor {
        guard let size = Tensor.elementCount(of: [rows.count, columns.count]) else {
            throw DataError.tooLarge(path: path, reason: "\(rows.count) rows of \(columns.count) features")
        }
        var values = [Float](repeating: 0, count: size)
        for (row, cells) in rows.enumerated() {
            for (position, column) in columns.enumerated() {
                let cell = cells[column]
                guard let value = Float(cell) else {
                    let hint = labelColumn.map { "; feature columns must be numeric, and the label column is \"\($0)\"" } ?? ""
                    throw DataError.badDataSet(
                        path: path, reason: "line \(lines[row]), column \"\(header[column])\": \(cell.isEmpty ? "an empty cell" : "\"\(cell)\"") is not a number\(hint)")
                }
                guard value.isFinite else {
                    throw DataError.badDataSet(
                        path: path, reason: "line \(lines[row]), column \"\(header[column])\": \"\(cell)\" is not a finite number (NaN and infinities cannot be learned from)")
                }
                values[row * columns.count + position] = value
            }
        }
        return Tensor(shape: [rows.count, columns.count], values: values)
    }

    /// `names` quoted and comma-separated, the first twelve of them.
    static func list(_ names: [String]) -> String {
        let shown = names.prefix(12).map { "\"\($0)\"" }.joined(separator: ", ")
        return names.count > 12 ? shown + ", … (\(names.count) in all)" : shown
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
