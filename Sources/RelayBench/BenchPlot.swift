/// Draws one delivery run as an SVG chart: the latency distribution (a histogram over log-spaced
/// buckets, with p50 and p99 marked) beside deliveries per second over the run.
public enum BenchPlot {
    static let panelWidth = 460.0
    static let panelHeight = 260.0
    static let margin = (left: 64.0, right: 16.0, top: 60.0, bottom: 44.0)

    public static func svg(for result: BenchResult) -> String? {
        guard let series = result.series, !series.latencyBuckets.isEmpty else { return nil }
        let width = 2 * (margin.left + panelWidth + margin.right)
        let height = margin.top + panelHeight + margin.bottom + 24
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(format(width))" height="\(format(height))"
                 viewBox="0 0 \(format(width)) \(format(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>

            """
        svg += text(
            x: 12, y: 18,
            "relay-gateway bench — \(result.scenario): \(result.subscribers) subscribers, \(result.topics) topic(s), \(result.publishes) "
                + "publishes; received \(result.received)/\(result.expected)",
            size: 13, weight: "bold")
        svg += histogram(series, latency: result.latencyMs, x: margin.left, y: margin.top)
        svg += rateChart(series, x: margin.left * 2 + panelWidth + margin.right, y: margin.top)
        svg += "</svg>\n"
        return svg
    }

    private static func histogram(_ series: RunSeries, latency: LatencySummary?, x: Double, y: Double) -> String {
        let buckets = series.latencyBuckets
        let peak = Double(buckets.map(\.count).max() ?? 1)
        let barWidth = panelWidth / Double(buckets.count)
        var out = text(x: x, y: y - 14, "Latency, publish → receive (deliveries per bucket)", weight: "bold")
        out += axes(x: x, y: y)
        for (index, bucket) in buckets.enumerated() {
            let barHeight = panelHeight * Double(bucket.count) / peak
            out +=
                ##"<rect x="\##(format(x + Double(index) * barWidth + 1))" y="\##(format(y + panelHeight - barHeight))" "##
                + ##"width="\##(format(max(1, barWidth - 2)))" height="\##(format(barHeight))" fill="#4c78a8">"##
                + ##"<title>≤ \##(milliseconds(bucket.upToMs)): \##(bucket.count)</title></rect>"##
            out += "\n"
            if index % 2 == 0 || buckets.count <= 10 {
                out += text(x: x + (Double(index) + 0.5) * barWidth, y: y + panelHeight + 16, milliseconds(bucket.upToMs), anchor: "middle", size: 10)
            }
        }
        out += text(x: x + panelWidth / 2, y: y + panelHeight + 34, "latency (upper bound of bucket)", anchor: "middle")
        out += text(x: x - 8, y: y + 10, compact(peak), anchor: "end", size: 10)
        out += text(x: x - 8, y: y + panelHeight, "0", anchor: "end", size: 10)
        if let latency {
            for (label, value, color) in [("p50", latency.p50, "#2ca02c"), ("p99", latency.p99, "#d62728")] {
                // Position within the bucket the value falls in.
                let index = buckets.firstIndex { value <= $0.upToMs } ?? buckets.count - 1
                let lineX = x + (Double(index) + 0.5) * barWidth
                out +=
                    ##"<line x1="\##(format(lineX))" y1="\##(format(y))" x2="\##(format(lineX))" y2="\##(format(y + panelHeight))" "##
                    + ##"stroke="\##(color)" stroke-dasharray="4 3"/>"##
                out += "\n"
                out += text(x: lineX + 4, y: y + (label == "p50" ? 14 : 30), "\(label) \(milliseconds(value))", size: 11, color: color)
            }
        }
        return out
    }

    private static func rateChart(_ series: RunSeries, x: Double, y: Double) -> String {
        let rates = series.deliveriesPerSecond
        var out = text(x: x, y: y - 14, "Deliveries per second (\(Int(series.sliceSeconds * 1000)) ms slices)", weight: "bold")
        out += axes(x: x, y: y)
        guard rates.count > 0 else { return out }
        let peak = max(1, rates.max() ?? 1)
        let step = rates.count > 1 ? panelWidth / Double(rates.count - 1) : 0
        let points = rates.enumerated().map { index, rate in
            "\(format(x + Double(index) * step)),\(format(y + panelHeight - panelHeight * rate / peak))"
        }
        out += ##"<polyline fill="none" stroke="#f58518" stroke-width="2" points="\##(points.joined(separator: " "))"/>"##
        out += "\n"
        out += text(x: x - 8, y: y + 10, compact(peak), anchor: "end", size: 10)
        out += text(x: x - 8, y: y + panelHeight, "0", anchor: "end", size: 10)
        let seconds = Double(rates.count) * series.sliceSeconds
        out += text(x: x, y: y + panelHeight + 16, "0 s", size: 10)
        out += text(x: x + panelWidth, y: y + panelHeight + 16, "\(format(seconds)) s", anchor: "end", size: 10)
        out += text(x: x + panelWidth / 2, y: y + panelHeight + 34, "time since the first publish", anchor: "middle")
        return out
    }

    private static func axes(x: Double, y: Double) -> String {
        ##"<path d="M\##(format(x)) \##(format(y)) V\##(format(y + panelHeight)) H\##(format(x + panelWidth))" fill="none" stroke="#333"/>"## + "\n"
    }

    private static func text(
        x: Double, y: Double, _ content: String, anchor: String = "start", size: Int = 12, weight: String = "normal", color: String = "#222"
    ) -> String {
        let escaped = content.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        return
            ##"<text x="\##(format(x))" y="\##(format(y))" text-anchor="\##(anchor)" font-size="\##(size)" font-weight="\##(weight)" "##
            + ##"fill="\##(color)" paint-order="stroke" stroke="white" stroke-width="3">\##(escaped)</text>"##
            + "\n"
    }

    static func milliseconds(_ value: Double) -> String {
        value < 1 ? "\(format(value * 1000)) µs" : value < 1000 ? "\(format(value)) ms" : "\(format(value / 1000)) s"
    }

    static func compact(_ value: Double) -> String {
        value >= 1_000_000 ? "\(format(value / 1_000_000))M" : value >= 1000 ? "\(format(value / 1000))k" : format(value)
    }

    /// At most 3 significant decimals, no trailing zeros.
    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        if rounded == rounded.rounded() { return String(Int(rounded)) }
        return String(rounded)
    }
}
