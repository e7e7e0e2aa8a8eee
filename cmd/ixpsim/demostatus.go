package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The demo watches ixpd's API and prints one line of what it shows.

// API answers the demo reads, the fields it needs.
type (
	apiNeighbors struct {
		Neighbors []struct {
			ASN     uint32 `json:"asn"`
			Address string `json:"address"`
			State   string `json:"state"`
			Routes  struct {
				Accepted int `json:"accepted"`
				Filtered int `json:"filtered"`
			} `json:"routes"`
		} `json:"neighbors"`
	}
	apiSummary struct {
		PeakBps     float64 `json:"peak_bps"`
		VolumeBytes uint64  `json:"volume_bytes"`
	}
	apiMatrix struct {
		Pairs []struct {
			Src   uint32 `json:"src_asn"`
			Dst   uint32 `json:"dst_asn"`
			Bytes uint64 `json:"bytes"`
		} `json:"pairs"`
	}
	apiShare struct {
		ViaIXP     uint64   `json:"via_ixp_bytes"`
		ViaTransit uint64   `json:"via_transit_bytes"`
		LocalShare *float64 `json:"local_share"`
	}
	apiDomestic struct {
		Overall apiShare `json:"overall"`
	}
	apiLatency struct {
		Targets []struct {
			Name  string `json:"name"`
			Stats struct {
				Sent     int     `json:"sent"`
				Received int     `json:"received"`
				MedianMs float64 `json:"median_ms"`
			} `json:"stats"`
		} `json:"targets"`
		Groups []struct {
			Group  string   `json:"group"`
			GainMs *float64 `json:"gain_ms"`
		} `json:"groups"`
	}
)

// getJSON fetches url (with a bearer token when token is not empty) and
// decodes a 200 answer into v.
func getJSON(ctx context.Context, url, token string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }() // read to the end below
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, v)
}

// httpOK returns nil when url answers 200.
func httpOK(ctx context.Context, url string) error {
	var v any
	return getJSON(ctx, url, "", &v)
}

// demoStatus polls the API.
type demoStatus struct {
	x     *demoExchange
	token string
	out   *demoLog
}

func (s *demoStatus) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.out.printf("%s", s.line(ctx))
		}
	}
}

// line is what the API shows now, in one line; each part says so when
// it could not be read.
func (s *demoStatus) line(ctx context.Context) string {
	base := "http://" + s.x.api.String()
	lgToken := ""
	if !s.x.publicLG {
		lgToken = s.token
	}
	var parts []string
	var n apiNeighbors
	if err := getJSON(ctx, base+"/api/v1/routeserver/neighbors", lgToken, &n); err != nil {
		parts = append(parts, "sessions: "+shortErr(err))
	} else {
		up, acc, filt := 0, 0, 0
		for _, nb := range n.Neighbors {
			if nb.State == "established" {
				up++
			}
			acc += nb.Routes.Accepted
			filt += nb.Routes.Filtered
		}
		parts = append(parts, fmt.Sprintf("sessions %d/%d up, %d routes accepted, %d filtered", up, len(n.Neighbors), acc, filt))
	}
	var sum apiSummary
	if err := getJSON(ctx, base+"/api/v1/traffic/summary", "", &sum); err != nil {
		parts = append(parts, "traffic: "+shortErr(err))
	} else {
		parts = append(parts, fmt.Sprintf("IXP traffic %s in 24 h, peak 5-min bin %s", humanBytes(sum.VolumeBytes), humanBits(sum.PeakBps)))
	}
	var d apiDomestic
	if err := getJSON(ctx, base+"/api/v1/domestic", s.token, &d); err != nil {
		parts = append(parts, "domestic: "+shortErr(err))
	} else if d.Overall.LocalShare != nil {
		parts = append(parts, fmt.Sprintf("local share %.1f %%", 100**d.Overall.LocalShare))
	}
	var l apiLatency
	if err := getJSON(ctx, base+"/api/v1/latency", "", &l); err != nil {
		parts = append(parts, "latency: "+shortErr(err))
	} else {
		for _, g := range l.Groups {
			if g.GainMs != nil {
				parts = append(parts, fmt.Sprintf("latency gain %s %.1f ms", g.Group, *g.GainMs))
			}
		}
	}
	return strings.Join(parts, " · ")
}

// shortErr keeps the first line of an error, short.
func shortErr(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// humanBits formats a rate in bits per second.
func humanBits(bps float64) string {
	units := []string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"}
	i := 0
	for bps >= 1000 && i < len(units)-1 {
		bps /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %s", bps, units[i])
}
