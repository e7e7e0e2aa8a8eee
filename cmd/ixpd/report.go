package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ixpd/ixpd/analytics"
	"github.com/ixpd/ixpd/analytics/report"
	"github.com/ixpd/ixpd/routeserver/members"
)

// reportFormats are the monthly report's formats.
var reportFormats = map[string]bool{"html": true, "csv": true, "json": true}

// monthlyReport writes the regulator's report of month in format to out
// (or to the file outPath). It reads the store the config names; when that
// store cannot be opened (a running ixpd holds the DuckDB file), it asks
// the running ixpd's API for the report, with the token in $IXPD_TOKEN.
func monthlyReport(path, month, format, outPath string, stdout, logOut io.Writer) error {
	if !reportFormats[format] {
		return fmt.Errorf("report: -format %q is not html, csv or json", format)
	}
	if _, _, err := analytics.MonthRange(month); err != nil {
		return fmt.Errorf("report: -%w", err)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Log, logOut)
	a, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var body func(io.Writer) error
	if merr := a.store.Migrate(ctx); merr != nil {
		_ = a.store.Close() // the open error is the one to report
		remote, rerr := remoteReport(ctx, cfg, month, format)
		if rerr != nil {
			return fmt.Errorf("report: open the store: %w; and from a running ixpd: %w", merr, rerr)
		}
		body = func(w io.Writer) error { _, err := w.Write(remote); return err }
	} else {
		defer func() { _ = a.store.Close() }()
		r, err := report.Build(ctx, a.store, a.reportConfig(), month, time.Now())
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		body = func(w io.Writer) error { return writeReport(r, format, w) }
	}
	if outPath == "" || outPath == "-" {
		return body(stdout)
	}
	// Write beside the target and rename, so a reader never sees half a report.
	tmp, err := os.CreateTemp(filepath.Dir(outPath), ".report-*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := errors.Join(body(tmp), tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("report: write %s: %w", outPath, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), outPath); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// writeReport renders r in format.
func writeReport(r *report.Report, format string, w io.Writer) error {
	switch format {
	case "csv":
		return r.WriteCSV(w)
	case "json":
		return r.WriteJSON(w)
	}
	return r.WriteHTML(w)
}

// remoteReport fetches the report from the ixpd running with cfg.
func remoteReport(ctx context.Context, cfg Config, month, format string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	resp, err := askDaemon(ctx, cfg, http.MethodGet, "/api/v1/reports/monthly/"+month, url.Values{"format": {format}})
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the report from the running ixpd: %w", err)
	}
	return data, nil
}

// reportConfig is what the monthly report needs from the configuration,
// the members file in force and the prober.
func (a *app) reportConfig() report.Config {
	cfg := a.cfg
	loc, _ := cfg.location() // checked by Validate
	transit, ixpCost, alpha := cfg.Savings.Params()
	rc := report.Config{
		Exchange:     report.Exchange{Name: cfg.IXP.Name, Country: cfg.IXP.Country, City: cfg.IXP.City},
		Location:     loc,
		TransitPrice: transit, IXPCost: ixpCost, Alpha: alpha,
		Targets: a.latencyTargets(),
		Version: buildVersion(),
	}
	edge := edgeMembers(cfg)
	set := a.members.Load()
	for _, m := range set.Members {
		if m.Type != "ixp" {
			rc.Members = append(rc.Members, report.Member{ASN: m.ASN, Name: m.Name, EdgeExporter: edge[m.ASN]})
		}
	}
	rc.Sources = a.reportSources(set)
	return rc
}

// reportSources lists the data the figures rest on, with their dates.
func (a *app) reportSources(set *members.Set) []report.Source {
	cfg := *a.cfgNow.Load()
	out := []report.Source{{Name: "Members file", Detail: cfg.resolve(cfg.MembersFile) + " (IX-F Member Export " + set.Version + ")", Date: set.Timestamp}}
	file := func(name, detail, path string) {
		if path == "" {
			return
		}
		s := report.Source{Name: name, Detail: detail + filepath.Base(path)}
		if fi, err := os.Stat(path); err == nil {
			s.Date = fi.ModTime().UTC()
		}
		out = append(out, s)
	}
	for _, f := range cfg.Domestic.DelegatedFiles {
		file("RIR delegated statistics", "country of addresses and ASNs: ", cfg.resolve(f))
	}
	rs := cfg.routeServer()
	for _, set := range []struct {
		name     string
		patterns []string
	}{{"IRR prefix list", rs.IRR.PrefixLists}, {"IRR AS-SET expansion", rs.IRR.ASSets}} {
		for _, p := range set.patterns {
			files, _ := filepath.Glob(p) // a bad pattern is refused by the route server's own check
			for _, f := range files {
				file(set.name, "bgpq4 output: ", f)
			}
		}
	}
	file("PeeringDB networks", "never-via-route-server flags: ", rs.PeeringDBFile)
	file("RPKI VRPs", "validated ROA payloads: ", rs.RPKI.VRPFile)
	for _, r := range rs.RPKI.RTR {
		out = append(out, report.Source{Name: "RPKI RTR cache", Detail: "validated ROA payloads from " + r + " (live)"})
	}
	return out
}
