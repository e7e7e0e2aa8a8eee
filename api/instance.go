package api

import "github.com/ixpd/ixpd/routeserver"

// Instance says which of the exchange's route servers this ixpd is and
// what it does beside the route server; /healthz, /api/v1/ui/config and
// /api/v1/routeserver/status show it.
type Instance struct {
	// Name tells the exchange's route servers apart (rs1, rs2).
	Name string `json:"name"`
	// Role is primary or secondary.
	Role string `json:"role"`
	// CollectsFlows is true when this instance runs flow listeners.
	CollectsFlows bool `json:"collects_flows"`
	// ProbesLatency is true when this instance runs the latency prober.
	ProbesLatency bool `json:"probes_latency"`
	// RecordsSessions is true when this instance records the route
	// server's sessions for the monthly report.
	RecordsSessions bool `json:"records_sessions"`
}

// statusBody is the route server's status with the instance that answers.
type statusBody struct {
	routeserver.Status
	Instance Instance `json:"instance"`
}

// status is the route server's status as the API shows it.
func (a *Component) status() statusBody {
	return statusBody{Status: a.deps.RouteServer.Status(), Instance: a.deps.Instance}
}
