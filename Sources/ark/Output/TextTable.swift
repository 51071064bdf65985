/// Rows of text cells printed as aligned columns (two spaces apart; the last column unpadded).
/// Columns listed in `rightAligned` are aligned right, for numbers.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    var rightAligned: Set<Int> = []

    init(_ header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    var lines: [String] {
        let all = [header] + rows
        let columns = all.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return all.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                let last = i == row.count - 1
                line += rightAligned.contains(i) ? pad + cell : (last ? cell : cell + pad)
                if !last { line += "  " }
            }
            while line.last == " " { line.removeLast() }  // an empty last cell
            return line
        }
    }
}
