package report

import (
	"fmt"
	"strconv"
	"strings"
)

// methodology explains how r's figures were made and what they cannot
// tell.
func methodology(r *Report, cfg Config) []Note {
	zone := "UTC"
	if r.TimeZone != "UTC" {
		zone = r.TimeZone + " (as the configuration asks); month and day bounds are still UTC"
	}
	notes := []Note{
		{"Period and time zone", fmt.Sprintf("The report covers the UTC calendar month %s, from %s to %s (end excluded). "+
			"Days are UTC days. Times are shown in %s. Data are kept in UTC in 5-minute bins aligned to the Unix epoch.",
			r.Month, r.From.Format("2006-01-02 15:04 MST"), r.To.Format("2006-01-02 15:04 MST"), zone)},
		{"5-minute sampling", "Traffic is summed per 5-minute bin; a bin's rate is 8 × bytes ÷ 300 s in bits per second. " +
			"A peak is the highest 5-minute rate, so bursts shorter than five minutes are averaged out. " +
			"The flow exporters sample packets (sFlow, sampled NetFlow/IPFIX); bytes and packets are multiplied by the " +
			"sampling rate, so every figure is an estimate whose error grows as traffic shrinks."},
		{"Ingress-only counting", "IXP traffic counts only sFlow samples from the peering-LAN switches whose source and " +
			"destination MAC (or peering-LAN address) belong to two different members, on the port where the traffic " +
			"enters the exchange (the IXP-Manager rule), so each byte is counted once. Traffic to and from the exchange's " +
			"own equipment, and between addresses of one member, is not IXP traffic."},
		{"95th percentile", "The 95th percentile (p95) sorts the month's 5-minute bin rates, drops the highest " +
			"5 % (floor(n ÷ 20) bins) and takes the highest that remains; with fewer than 20 bins nothing is dropped and " +
			"it equals the peak. This is how transit is usually billed. The average is the mean of all bin rates."},
		{"Missing bins", fmt.Sprintf("A bin without any flow counts as zero in the peak, p95 and average and is "+
			"reported as missing (missing_bins); a collector outage therefore lowers the figures. This month has %d of %d "+
			"bins missing.", r.Summary.MissingBins, r.Summary.Bins)},
		{"Transit savings and alpha", "The avoided transit cost is alpha × B × (transit price − IXP cost), with prices " +
			"in USD per Mbps per month from the configuration, B the month's p95 (the transit billing basis) or, for " +
			"comparison with published IXP studies, its peak, in Mbps. Alpha is the share of the IXP traffic that would " +
			"otherwise cross international transit (1 means all of it; local detours between members lower it). It is " +
			"an estimate: the band uses the low and high ends of each input as configured, and any negative figure is " +
			"reported as 0. Every input is listed with its source."},
		{"Local share", "The local share is domestic bytes via the exchange ÷ (domestic bytes via the exchange + " +
			"domestic bytes via transit), from the flow exporters on members' border routers (member_edge), by the " +
			"role of the interface the traffic crossed. A flow is domestic when both ends are in the exchange's country " +
			"(RIR delegated statistics, member ASNs and configured overrides). Members without such an exporter have no " +
			"local share, and the overall share covers only members that have one."},
		{"Latency and the ICMP caveat", "Probes (ICMP echo, TCP connect or TWAMP-light) are summarized per target and " +
			"5-minute bin; statistics over the month merge the bins, with medians and percentiles from 2 % wide " +
			"histogram buckets (within 1 %). Latency gain = median via transit − median via the exchange, for targets of " +
			"the same comparison group. The distributions merge every answer of every target probed via each path, " +
			"members' peering-LAN addresses included. Routers answer ICMP on their slow path, in software and at low " +
			"priority, so ICMP round-trip times overstate the forwarding delay and ICMP loss may be rate limiting rather " +
			"than packet loss; TWAMP-light to a reflector is the better measure."},
		{"Members and routing", "Route-server figures come from periodic snapshots of the route server's sessions stored " +
			"with the traffic. The up share of a session is the share of its snapshots in the month that found it " +
			"established; route counts, reasons, RPKI and IRR coverage are those of the month's last snapshot. A route " +
			"filtered for several reasons counts under each. Joins are ASNs seen in this month's snapshots and not in " +
			"the previous month's; leaves the reverse."},
	}
	var src strings.Builder
	if len(cfg.Sources) == 0 {
		src.WriteString("No data sources were listed by the configuration.")
	}
	for i, s := range cfg.Sources {
		if i > 0 {
			src.WriteString("; ")
		}
		src.WriteString(s.Name)
		if s.Detail != "" {
			src.WriteString(" (" + s.Detail + ")")
		}
		if s.Date.IsZero() {
			src.WriteString(", date unknown")
		} else {
			src.WriteString(", dated " + s.Date.UTC().Format("2006-01-02"))
		}
	}
	notes = append(notes, Note{"Data sources", src.String() + ". Savings inputs: transit price from " +
		quoteSource(cfg.TransitPrice.Source) + ", IXP cost from " + quoteSource(cfg.IXPCost.Source) + ", alpha from " +
		quoteSource(cfg.Alpha.Source) + "."})
	return notes
}

func quoteSource(s string) string {
	if s == "" {
		return "an unnamed source"
	}
	return strconv.Quote(s)
}

// dictionary defines every figure of the report by its JSON name (the
// CSV's key).
func dictionary() []Term {
	return []Term{
		{"month", "YYYY-MM", "The UTC calendar month of the report."},
		{"from, to", "RFC 3339, UTC", "The month's bounds: from its first instant to the first instant of the next month, excluded."},
		{"generated_at", "RFC 3339, UTC", "When the report was built."},
		{"partial", "boolean", "The month had not ended when the report was built."},
		{"no_data", "boolean", "The store holds nothing for the month (no traffic, session snapshot or latency bin), or, for a day or month row, no traffic bin."},
		{"summary.peak_bps", "bit/s", "Highest 5-minute rate of IXP traffic in the month; rate = 8 × bytes ÷ 300 s."},
		{"summary.peak_at", "RFC 3339, UTC", "Start of the earliest 5-minute bin with the peak rate."},
		{"summary.p95_bps", "bit/s", "95th percentile of the month's 5-minute rates: sort, drop the top floor(n ÷ 20), take the next."},
		{"summary.avg_bps", "bit/s", "Mean of the month's 5-minute rates, missing bins counted as zero."},
		{"summary.volume_bytes", "bytes", "IXP traffic bytes in the month (sampled counts multiplied by the sampling rate)."},
		{"summary.bins", "count", "5-minute bins in the month."},
		{"summary.missing_bins", "count", "Bins without any flow (counted as zero)."},
		{"summary.families[].peak_bps, p95_bps, avg_bps, volume_bytes", "bit/s, bytes", "The same figures for IPv4 (family 4), IPv6 (6) and other EtherTypes (0)."},
		{"savings.p95_mbps, savings.peak_mbps", "Mbit/s", "The month's p95 and peak, the bases B of the savings estimate."},
		{"savings.transit_price_usd_per_mbps_month", "USD per Mbit/s per month", "Configured transit price (central value)."},
		{"savings.ixp_cost_usd_per_mbps_month", "USD per Mbit/s per month", "Configured cost of the exchange per Mbit/s (central value)."},
		{"savings.alpha", "ratio 0–1", "Share of IXP traffic that would otherwise cross transit (central value)."},
		{"savings.savings_usd_p95", "USD per month", "alpha × p95_mbps × (transit price − IXP cost), at least 0."},
		{"savings.savings_usd_peak", "USD per month", "alpha × peak_mbps × (transit price − IXP cost), at least 0."},
		{"savings.band.low_usd, savings.band.high_usd", "USD per month", "Band of savings_usd_p95: low alpha, low transit price, high IXP cost; and high alpha, high transit price, low IXP cost."},
		{"savings.band_peak", "USD per month", "The same band for savings_usd_peak."},
		{"savings.inputs.*.value, low, high, source", "as the input", "Each input's central value, range and source text."},
		{"local_share.*.via_ixp_bytes", "bytes", "Domestic bytes a member's border router sent or received through the exchange."},
		{"local_share.*.via_transit_bytes", "bytes", "Domestic bytes a member's border router sent or received through transit."},
		{"local_share.*.local_share", "ratio 0–1", "via_ixp_bytes ÷ (via_ixp_bytes + via_transit_bytes); null, with a note, without an edge exporter or domestic traffic."},
		{"traffic.days[]", "bit/s, bytes", "Per UTC day: peak_bps (highest 5-minute rate), peak_at, avg_bps, volume_bytes, missing_bins."},
		{"traffic.hours[].peak_bps", "bit/s", "Highest 5-minute rate of each UTC hour (the traffic chart)."},
		{"traffic.months[]", "bit/s, bytes, USD per month", "This month and the 11 before it: peak_bps, p95_bps, avg_bps, volume_bytes, savings_usd_p95 (with this report's savings inputs)."},
		{"routing.snapshots", "count", "Distinct times the route server's sessions were recorded in the month."},
		{"routing.members_at_end, sessions_at_end, sessions_up_at_end", "count", "At the month's last snapshot: distinct member ASNs, sessions, sessions established."},
		{"routing.received_routes, accepted_routes, filtered_routes", "routes", "Routes received from members at the last snapshot; received = accepted + filtered."},
		{"routing.sessions[].up_share", "ratio 0–1", "Share of the session's snapshots in the month that found it established."},
		{"routing.filtered_by_reason[].routes", "routes", "Filtered routes at the last snapshot by Euro-IX reject reason code; a route with several reasons counts under each."},
		{"routing.rpki.valid_share, unknown_share, invalid_share", "ratio 0–1", "RPKI origin validation state ÷ received routes at the last snapshot; null when routing.rpki.checked is false."},
		{"routing.rpki.checked", "true/false", "Whether any received route carried an RPKI state, that is whether RPKI origin validation was on."},
		{"routing.irr.valid_share", "ratio 0–1", "Received routes whose prefix and origin match the member's IRR data ÷ received routes at the last snapshot; null when routing.irr.checked is false."},
		{"routing.irr.checked", "true/false", "Whether any route matched IRR data or was filtered for it (reasons 9, 10), that is whether IRR filtering was on."},
		{"routing.joins, routing.leaves", "ASNs", "ASNs in this month's snapshots and not the previous month's, and the reverse; only when both months have snapshots (joins_known)."},
		{"latency.targets[].stats", "ms, %", "Per target over the month: sent, received, loss_pct, min_ms, median_ms, mean_ms, p95_ms, max_ms, jitter_ms (mean |RTTᵢ − RTTᵢ₋₁|)."},
		{"latency.groups[].gain_ms", "ms", "transit_median_ms − ixp_median_ms for the targets of one comparison group."},
		{"latency.members[]", "ms, %", "Median, p95 and loss to each member's peering-LAN address."},
		{"latency.distribution.*.quantiles[].ms", "ms", "Quantiles (p05…p99) of every answer via the path, from the merged 2 % histogram."},
		{"latency.distribution.bins[]", "ms, count, ratio", "Answers per round-trip-time bin [lower_ms, upper_ms) via each path, and their share of the path's answers."},
	}
}
