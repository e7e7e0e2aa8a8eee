package clickhouse

import (
	"context"
	"log/slog"
)

// driverHandler is the handler of the driver's logger. clickhouse-go warns
// on every new connection to a server older than the releases it is tested
// with; ixpd supports 18.16 on purpose, so that warning is demoted to
// debug (Migrate logs the server version once).
type driverHandler struct{ slog.Handler }

func (h driverHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn && r.Message == "unsupported clickhouse version" {
		r.Level = slog.LevelDebug
		if !h.Enabled(ctx, r.Level) {
			return nil
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h driverHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return driverHandler{h.Handler.WithAttrs(attrs)}
}

func (h driverHandler) WithGroup(name string) slog.Handler {
	return driverHandler{h.Handler.WithGroup(name)}
}
