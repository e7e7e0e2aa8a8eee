// Command ixpsim simulates exchange members for demos, tests and
// benchmarks.
//
// Subcommands:
//
//	ixpsim bench [flags]       every benchmark below in one run, appended to docs/BENCHMARKS.md (make bench)
//	ixpsim rs-bench [flags]    route-server convergence benchmark: ixpd against BIRD 2
//	ixpsim flow-bench [flags]  flow ingest benchmark: ixpd against goflow2 and pmacct
//	ixpsim flow-send [flags]   paced sFlow/IPFIX sender (flow-bench's child)
//	ixpsim api-bench [flags]   API latency on a month of flows in DuckDB and ClickHouse
//	ixpsim probe-bench [flags] latency-probe scheduling error: timer heap against a ticker per target
//	ixpsim demo [flags]        a living demo: simulated members, switch, edge routers and reflectors
//
// Run "ixpsim rs-bench -h" (or bench, flow-bench, flow-send, api-bench,
// probe-bench, demo) for the flags. docs/BENCHMARKS.md has the figures and
// what they mean.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "ixpsim:", err)
		os.Exit(1)
	}
}

// usage prints the command's help. Like the flag package's, it ignores
// write errors.
func usage(w io.Writer) {
	_, _ = fmt.Fprint(w, `usage: ixpsim <command> [flags]

commands:
  bench       every benchmark in one run, medians and ratios, appended to a markdown file (make bench)
  rs-bench    route-server convergence benchmark: simulated members against ixpd and BIRD 2
  flow-bench  flow ingest benchmark: one sFlow or IPFIX stream into goflow2, pmacct, ixpd+DuckDB, ixpd+ClickHouse
  flow-send   paced sFlow v5/IPFIX sender (run by flow-bench in its own process)
  api-bench   API latency (summary, matrix, savings, map) on a month of flows per store
  probe-bench latency-probe scheduling error: the prober's timer heap against a ticker per target
  demo        play the example exchange (BGP, sFlow, IPFIX, TWAMP) against ixpd; -ixpd starts ixpd too
`)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return flag.ErrHelp
	}
	switch args[0] {
	case "bench":
		return benchCmd(ctx, args[1:], stdout, stderr)
	case "rs-bench":
		return rsBench(ctx, args[1:], stdout, stderr)
	case "flow-bench":
		return flowBenchCmd(ctx, args[1:], stdout, stderr)
	case "flow-send":
		return flowSend(ctx, args[1:], stdout, stderr)
	case "api-bench":
		return apiBenchCmd(ctx, args[1:], stdout, stderr)
	case "probe-bench":
		return probeBenchCmd(ctx, args[1:], stdout, stderr)
	case "demo":
		return demoCmd(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	default:
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
