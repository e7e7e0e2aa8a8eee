package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/analytics"
)

// reportTypes are the content types of the monthly report's formats.
var reportTypes = map[string]string{
	"html": "text/html; charset=utf-8",
	"csv":  "text/csv; charset=utf-8",
	"json": "application/json; charset=utf-8",
}

// monthlyReport answers GET /api/v1/reports/monthly/{YYYY-MM}?format=:
// the regulator's report of a month, built as `ixpd report` builds it.
func (a *Component) monthlyReport(c *gin.Context) {
	if a.deps.Report == nil {
		writeError(c, errNotServed)
		return
	}
	month := c.Param("month")
	if _, _, err := analytics.MonthRange(month); err != nil {
		writeError(c, &badRequest{param: "month", err: errors.New(trimParam(err.Error(), "month"))})
		return
	}
	format := c.DefaultQuery("format", "html")
	ctype, ok := reportTypes[format]
	if !ok {
		writeError(c, &badRequest{param: "format", err: fmt.Errorf("%q is not html, csv or json", format)})
		return
	}
	r, err := a.deps.Report(c.Request.Context(), month)
	if err != nil {
		writeError(c, err)
		return
	}
	var buf bytes.Buffer
	switch format {
	case "csv":
		err = r.WriteCSV(&buf)
	case "json":
		err = r.WriteJSON(&buf)
	default:
		err = r.WriteHTML(&buf)
	}
	if err != nil {
		writeError(c, err)
		return
	}
	if format != "html" {
		c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="ixpd-report-%s.%s"`, month, format))
	}
	c.Data(http.StatusOK, ctype, buf.Bytes())
}
