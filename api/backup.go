package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// storeBackup answers POST /api/v1/store/backup: a consistent copy of the
// embedded store, taken while the daemon runs, as a DuckDB database file
// (what `ixpd backup` asks a running ixpd for). The length is sent ahead,
// so that a client tells a copy cut short from a whole one.
func (a *Component) storeBackup(c *gin.Context) {
	if a.deps.Backup == nil {
		writeError(c, errNotServed)
		return
	}
	f, err := a.deps.Backup(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	defer func() { _ = f.Close() }() // read-only
	fi, err := f.Stat()
	if err != nil {
		writeError(c, fmt.Errorf("backup: %w", err))
		return
	}
	if !fi.Mode().IsRegular() {
		writeError(c, errors.New("backup: not a regular file"))
		return
	}
	name := fmt.Sprintf("ixpd-backup-%s.duckdb", time.Now().UTC().Format("20060102T150405Z"))
	c.DataFromReader(http.StatusOK, fi.Size(), "application/octet-stream", f,
		map[string]string{"Content-Disposition": `attachment; filename="` + name + `"`})
}
