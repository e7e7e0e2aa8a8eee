package routeserver

// RefreshSnapshot rebuilds the flow-enrichment snapshot now.
func (c *Component) RefreshSnapshot() error { return c.refreshSnapshot() }
