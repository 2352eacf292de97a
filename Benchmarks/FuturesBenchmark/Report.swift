//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// Formats benchmark rows as a table or as JSON, without Foundation.
enum Report {
    static func table(_ rows: [Row], repetitions: Int) -> String {
        var lines: [String] = [
            "fastest of \(repetitions) run(s) per measurement; ideal/s = workers / task cost;"
                + " cpu/wall = process CPU seconds per wall second",
        ]
        lines.append(
            pad("group", 10) + pad("measurement", 52) + pad("tasks", 10, right: true)
                + pad("ns/task", 12, right: true) + pad("tasks/s", 14, right: true) + pad("ideal/s", 12, right: true)
                + pad("ratio", 8, right: true) + pad("cpu/wall", 10, right: true)
        )
        lines.append(String(repeating: "-", count: 128))
        for row in rows {
            lines.append(
                pad(row.group, 10) + pad(row.name, 52) + pad("\(row.tasks)", 10, right: true)
                    + pad(fixed(row.nanosecondsPerTask, 0), 12, right: true)
                    + pad(fixed(row.throughput, 0), 14, right: true)
                    + pad(row.idealThroughput.map { fixed($0, 0) } ?? "", 12, right: true)
                    + pad(row.ratio.map { fixed($0, 3) } ?? "", 8, right: true)
                    + pad(row.idealThroughput == nil ? "" : fixed(row.cpuPerWallSecond, 2), 10, right: true)
            )
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ rows: [Row], repetitions: Int) -> String {
        let objects = rows.map { row in
            var fields = [
                "\"group\": \(quoted(row.group))",
                "\"name\": \(quoted(row.name))",
                "\"tasks\": \(row.tasks)",
                "\"seconds\": \(fixed(row.seconds, 6))",
                "\"ns_per_task\": \(fixed(row.nanosecondsPerTask, 1))",
                "\"tasks_per_second\": \(fixed(row.throughput, 1))",
            ]
            if let ideal = row.idealThroughput, let ratio = row.ratio {
                fields.append("\"ideal_tasks_per_second\": \(fixed(ideal, 1))")
                fields.append("\"ratio_to_ideal\": \(fixed(ratio, 4))")
                fields.append("\"process_cpu_per_wall_second\": \(fixed(row.cpuPerWallSecond, 3))")
            }
            return "    {" + fields.joined(separator: ", ") + "}"
        }
        return "{\n  \"benchmark\": \"sluice-futures-bench\",\n  \"repetitions\": \(repetitions),\n  \"results\": [\n"
            + objects.joined(separator: ",\n") + "\n  ]\n}"
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let count = text.count
        guard count < width else { return text + " " }
        let padding = String(repeating: " ", count: width - count)
        return right ? padding + text : text + padding
    }

    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `value` with `digits` decimals.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "null" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        if digits == 0 { return String(Int(rounded)) }
        let integer = Int(rounded.rounded(.towardZero))
        var fraction = Int((abs(rounded - Double(integer)) * scale).rounded())
        if fraction >= Int(scale) { fraction = Int(scale) - 1 }
        let fractionText = String(fraction)
        let sign = (rounded < 0 && integer == 0) ? "-" : ""
        return sign + String(integer) + "." + String(repeating: "0", count: digits - fractionText.count) + fractionText
    }
}
