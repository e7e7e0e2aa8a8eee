package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/routeserver"
)

// errorBody is the one JSON error envelope of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// badRequest is an error in what the client sent.
type badRequest struct {
	param string
	err   error
}

func (b *badRequest) Error() string { return b.param + ": " + b.err.Error() }
func (b *badRequest) Unwrap() error { return b.err }

// invalidMembers is a members file that could not be applied.
type invalidMembers struct{ err error }

func (e *invalidMembers) Error() string { return "members file not applied: " + e.err.Error() }
func (e *invalidMembers) Unwrap() error { return e.err }

// errFlowsOff is returned by flow endpoints when no collector runs.
var errFlowsOff = errors.New("the flow collector is not running")

// errNotServed is returned by endpoints this deployment does not serve.
var errNotServed = errors.New("not served by this ixpd")

// errUnauthorized is returned for a missing or wrong token.
var errUnauthorized = errors.New("a valid bearer token is required")

// writeError maps domain errors to an HTTP status and the error envelope.
// It is the only place that does so.
func writeError(c *gin.Context, err error) {
	status, code, msg := errorStatus(c, err)
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="ixpd"`)
	}
	c.AbortWithStatusJSON(status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

// errorStatus maps an error to its HTTP status, code and message. An
// internal error is recorded on c and its text not shown.
func errorStatus(c *gin.Context, err error) (status int, code, msg string) {
	status, code = http.StatusInternalServerError, "internal"
	var br *badRequest
	var im *invalidMembers
	switch {
	case errors.As(err, &im):
		status, code = http.StatusUnprocessableEntity, "invalid_members_file"
	case errors.As(err, &br):
		status, code = http.StatusBadRequest, "bad_request"
	case errors.Is(err, errRateLimited):
		status, code = http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, errUnauthorized):
		status, code = http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, routeserver.ErrNotFound):
		status, code = http.StatusNotFound, "not_found"
	case errors.Is(err, routeserver.ErrNotRunning), errors.Is(err, errFlowsOff), errors.Is(err, errNotServed):
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	msg = err.Error()
	if status == http.StatusInternalServerError {
		_ = c.Error(err)
		msg = "internal error"
	}
	return status, code, msg
}
