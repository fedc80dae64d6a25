import Foundation

/// Output formats of reports.
public enum ReportFormat: String, Sendable, CaseIterable {
    case markdown = "md"
    case json
    case html
}

/// Report language: Chinese by default (the authority reads Chinese), English on request.
public enum ReportLanguage: String, Sendable, CaseIterable {
    case zh, en
}

/// A report as headings, paragraphs, tables and charts, rendered to Markdown or a
/// self-contained HTML page; `data` is what the JSON format writes.
public struct ReportDocument {
    public struct Table {
        public var header: [String]
        public var rows: [[String]]
    }
    /// Bars of a count per label.
    public struct BarChart {
        public var title: String
        public var bars: [(label: String, value: Double)]
    }
    /// Lines over time, values between 0 and 1 (rates); `threshold` is drawn as a dashed line.
    public struct LineChart {
        public var title: String
        public var series: [(name: String, points: [(at: Double, value: Double)])]
        public var threshold: Double?
    }
    public struct Section {
        public var heading: String
        public var paragraphs: [String] = []
        public var tables: [Table] = []
        public var bars: [BarChart] = []
        public var lines: [LineChart] = []
        public init(_ heading: String) { self.heading = heading }

        /// Adds `table`, or the sentence `none` in its place when it has no rows.
        public mutating func add(_ table: Table, orSay none: String) {
            if table.rows.isEmpty { paragraphs.append(none) } else { tables.append(table) }
        }
    }

    public var title: String
    public var lead: [String] = []
    public var sections: [Section] = []
    public var data: [String: Any] = [:]
    public var language: ReportLanguage

    public func rendered(as format: ReportFormat) -> String {
        switch format {
        case .json: return jsonText(data, pretty: true) + "\n"
        case .markdown: return markdown()
        case .html: return html()
        }
    }

    // MARK: Markdown

    func markdown() -> String {
        var out = "# \(title)\n\n"
        for p in lead { out += p + "\n\n" }
        for s in sections {
            out += "## \(s.heading)\n\n"
            for p in s.paragraphs { out += p + "\n\n" }
            for t in s.tables { out += Self.markdownTable(t) + "\n" }
            for chart in s.bars {
                // Text bars: the Markdown report stays readable in a terminal or a ticket.
                let top = chart.bars.map(\.value).max() ?? 0
                out += "**\(chart.title)**\n\n```\n"
                let width = chart.bars.map { $0.label.count }.max() ?? 0
                for bar in chart.bars {
                    let n = top > 0 ? Int((bar.value / top * 30).rounded()) : 0
                    out +=
                        bar.label.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                        + String(repeating: "█", count: n) + " " + Self.number(bar.value) + "\n"
                }
                out += "```\n\n"
            }
            for chart in s.lines {
                out += "**\(chart.title)**\n\n"
                let header = [
                    language == .zh ? "话题" : "topic", language == .zh ? "采样数" : "samples",
                    language == .zh ? "最低" : "lowest", language == .zh ? "最近" : "latest",
                ]
                let rows = chart.series.map { series -> [String] in
                    let values = series.points.map(\.value)
                    return [
                        series.name, String(values.count), values.min().map(Self.percent) ?? "—",
                        values.last.map(Self.percent) ?? "—",
                    ]
                }
                out += Self.markdownTable(Table(header: header, rows: rows)) + "\n"
            }
        }
        return out
    }

    static func markdownTable(_ t: Table) -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "<br>")
        }
        var out = "| " + t.header.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + t.header.map { _ in "---" }.joined(separator: "|") + "|\n"
        for row in t.rows { out += "| " + row.map(cell).joined(separator: " | ") + " |\n" }
        return out
    }

    // MARK: HTML

    func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="\(language == .zh ? "zh-CN" : "en")">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(title))</title>
            <style>
            body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1d2330;line-height:1.55}
            h1{font-size:1.6em;border-bottom:2px solid #b3261e;padding-bottom:.3em}h2{font-size:1.2em;margin-top:1.8em;color:#37405a}
            table{border-collapse:collapse;width:100%;margin:.8em 0;font-size:.92em}th,td{border:1px solid #d5d9e2;padding:.35em .6em;text-align:left;vertical-align:top}
            th{background:#f1f3f8}tr:nth-child(even) td{background:#fafbfd}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.4em}
            .lead{color:#4a5370}@media print{body{margin:0}}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>

            """
        for p in lead { out += "<p class=\"lead\">\(Self.escape(p))</p>\n" }
        for s in sections {
            out += "<h2>\(Self.escape(s.heading))</h2>\n"
            for p in s.paragraphs { out += "<p>\(Self.escape(p))</p>\n" }
            for t in s.tables {
                out +=
                    "<table><thead><tr>" + t.header.map { "<th>\(Self.escape($0))</th>" }.joined()
                    + "</tr></thead><tbody>\n"
                for row in t.rows {
                    out +=
                        "<tr>"
                        + row.map { "<td>\(Self.escape($0).replacingOccurrences(of: "\n", with: "<br>"))</td>" }
                        .joined() + "</tr>\n"
                }
                out += "</tbody></table>\n"
            }
            for chart in s.bars { out += Self.svgBars(chart) }
            for chart in s.lines { out += Self.svgLines(chart, language: language) }
        }
        out += "</body></html>\n"
        return out
    }

    static let palette = ["#b3261e", "#1f6feb", "#2e7d32", "#8e24aa", "#ef6c00", "#00838f", "#6d4c41", "#c2185b"]

    static func svgBars(_ chart: BarChart) -> String {
        let rowHeight = 26.0
        let labelWidth = 220.0
        let barWidth = 560.0
        let height = rowHeight * Double(max(chart.bars.count, 1)) + 10
        let top = chart.bars.map(\.value).max() ?? 0
        var svg =
            "<figure><figcaption>\(escape(chart.title))</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(chart.title))\">\n"
        for (i, bar) in chart.bars.enumerated() {
            let y = Double(i) * rowHeight + 5
            let w = top > 0 ? max(2, bar.value / top * barWidth) : 2
            svg +=
                "<text x=\"\(Int(labelWidth - 8))\" y=\"\(Int(y + 17))\" text-anchor=\"end\" font-size=\"13\">\(escape(bar.label))</text>"
            svg +=
                "<rect x=\"\(Int(labelWidth))\" y=\"\(Int(y + 3))\" width=\"\(Int(w))\" height=\"\(Int(rowHeight - 8))\" fill=\"\(palette[i % palette.count])\"/>"
            svg +=
                "<text x=\"\(Int(labelWidth + w + 6))\" y=\"\(Int(y + 17))\" font-size=\"13\">\(number(bar.value))</text>\n"
        }
        return svg + "</svg></figure>\n"
    }

    static func svgLines(_ chart: LineChart, language: ReportLanguage) -> String {
        let width = 860.0
        let height = 280.0
        let left = 50.0
        let right = 170.0
        let topPad = 10.0
        let bottom = 30.0
        let times = chart.series.flatMap { $0.points.map(\.at) }
        guard let t0 = times.min(), let t1 = times.max() else {
            return "<p>\(escape(chart.title)): \(language == .zh ? "无采样" : "no samples")</p>\n"
        }
        let span = max(t1 - t0, 1)
        let lowest = min(chart.series.flatMap { $0.points.map(\.value) }.min() ?? 0, chart.threshold ?? 1)
        // Gridlines on round percentages: every 5 points, or every 10 or 25 for a wider range.
        let floor = max(0, (lowest * 20).rounded(.down) / 20 - 0.05)
        let step = 1 - floor > 0.5 ? 0.25 : (1 - floor > 0.25 ? 0.1 : 0.05)
        func x(_ t: Double) -> Double { left + (t - t0) / span * (width - left - right) }
        func y(_ v: Double) -> Double { topPad + (1 - (v - floor) / (1 - floor)) * (height - topPad - bottom) }
        var svg =
            "<figure><figcaption>\(escape(chart.title))</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"\(escape(chart.title))\">\n"
        for tick in stride(from: 1.0, through: floor - 0.0001, by: -step) {
            svg +=
                "<line x1=\"\(Int(left))\" x2=\"\(Int(width - right))\" y1=\"\(Int(y(tick)))\" y2=\"\(Int(y(tick)))\" stroke=\"#e3e6ee\"/><text x=\"\(Int(left - 6))\" y=\"\(Int(y(tick) + 4))\" text-anchor=\"end\" font-size=\"11\">\(percent(tick))</text>\n"
        }
        if let th = chart.threshold {
            svg +=
                "<line x1=\"\(Int(left))\" x2=\"\(Int(width - right))\" y1=\"\(Int(y(th)))\" y2=\"\(Int(y(th)))\" stroke=\"#b3261e\" stroke-dasharray=\"6 4\"/><text x=\"\(Int(width - right + 4))\" y=\"\(Int(y(th) + 4))\" font-size=\"11\" fill=\"#b3261e\">\(percent(th))</text>\n"
        }
        for (i, series) in chart.series.enumerated() {
            let color = palette[(i + 1) % palette.count]
            let points = series.points.map { "\(Int(x($0.at))),\(Int(y($0.value)))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>\n"
            svg +=
                "<text x=\"\(Int(width - right + 4))\" y=\"\(Int(topPad + 14 + Double(i) * 16))\" font-size=\"12\" fill=\"\(color)\">\(escape(series.name))</text>\n"
        }
        svg +=
            "<text x=\"\(Int(left))\" y=\"\(Int(height - 8))\" font-size=\"11\">\(escape(ReportClock.text(t0)))</text><text x=\"\(Int(width - right))\" y=\"\(Int(height - 8))\" text-anchor=\"end\" font-size=\"11\">\(escape(ReportClock.text(t1)))</text>\n"
        return svg + "</svg></figure>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func number(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v) }
    static func percent(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
}

/// Times in reports: the machine's time zone, to the second.
enum ReportClock {
    static func text(_ t: Double) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        f.dateFormat = "yyyy-MM-dd HH:mm:ss xxx"
        return f.string(from: Date(timeIntervalSince1970: t))
    }

    static func duration(_ seconds: Double, _ language: ReportLanguage) -> String {
        let s = max(0, seconds)
        if s < 120 { return language == .zh ? "\(Int(s)) 秒" : "\(Int(s)) s" }
        if s < 7200 { return language == .zh ? "\(Int(s / 60)) 分钟" : "\(Int(s / 60)) min" }
        if s < 172_800 { return String(format: language == .zh ? "%.1f 小时" : "%.1f h", s / 3600) }
        return String(format: language == .zh ? "%.1f 天" : "%.1f d", s / 86400)
    }
}
