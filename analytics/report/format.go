package report

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// rateUnit picks the unit to show a rate of v bit/s in: the divisor and
// its name.
func rateUnit(v float64) (float64, string) {
	units := []struct {
		div  float64
		name string
	}{{1e12, "Tbit/s"}, {1e9, "Gbit/s"}, {1e6, "Mbit/s"}, {1e3, "kbit/s"}}
	for _, u := range units {
		if math.Abs(v) >= u.div {
			return u.div, u.name
		}
	}
	return 1, "bit/s"
}

// short writes v with three significant digits, without an exponent.
func short(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// humanBps writes a rate with its unit.
func humanBps(v float64) string {
	div, unit := rateUnit(v)
	return short(v/div) + " " + unit
}

// humanBytes writes a volume in decimal units.
func humanBytes(v uint64) string {
	f := float64(v)
	for _, u := range []struct {
		div  float64
		name string
	}{{1e15, "PB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}} {
		if f >= u.div {
			return short(f/u.div) + " " + u.name
		}
	}
	return strconv.FormatUint(v, 10) + " B"
}

// humanUSD writes an amount of US dollars with thousands separators.
func humanUSD(v float64) string {
	if math.Abs(v) < 100 {
		return "USD " + strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "USD -" + b.String()
	}
	return "USD " + b.String()
}

// humanRatio writes a ratio as a percentage.
func humanRatio(v float64) string {
	return strconv.FormatFloat(100*v, 'f', 1, 64) + " %"
}

// humanMs writes milliseconds.
func humanMs(v float64) string { return short(v) + " ms" }

// showTime writes t in the report's zone, to the minute.
func (r *Report) showTime(t time.Time) string {
	return t.In(r.location()).Format("2006-01-02 15:04 MST")
}

// location is the zone times are shown in: the configured one, else the
// one TimeZone names (for a Report read back from JSON), else UTC.
func (r *Report) location() *time.Location {
	if r.loc != nil {
		return r.loc
	}
	if loc, err := time.LoadLocation(r.TimeZone); err == nil && r.TimeZone != "" {
		return loc
	}
	return time.UTC
}

// rawValue is the raw form of a figure, as the CSV writes it.
func rawValue(v any) string {
	switch v := v.(type) {
	case float64:
		return formatFloat(v)
	case *float64:
		if v == nil {
			return ""
		}
		return formatFloat(*v)
	case uint64:
		return strconv.FormatUint(v, 10)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case int:
		return strconv.Itoa(v)
	case time.Time:
		return formatTime(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return fmt.Sprint(v)
}

// figure marks up one key figure: its JSON path in data-figure, its raw
// value in data-value, and text for readers.
func figure(name string, raw any, text string) template.HTML {
	return template.HTML(`<span class="fig" data-figure="` + html.EscapeString(name) + `" data-value="` +
		html.EscapeString(rawValue(raw)) + `">` + html.EscapeString(text) + `</span>`)
}
