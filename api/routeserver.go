package api

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ixpd/ixpd/routeserver"
)

func (a *Component) neighbors(c *gin.Context) {
	ns, err := a.deps.RouteServer.Neighbors(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	if ns == nil {
		ns = []routeserver.Neighbor{}
	}
	c.JSON(http.StatusOK, gin.H{"neighbors": ns})
}

func (a *Component) routes(c *gin.Context) {
	kind, err := routeserver.ParseRouteKind(c.Param("kind"))
	if err != nil {
		writeError(c, &badRequest{param: "kind", err: err})
		return
	}
	id := c.Param("id")
	if _, err := netip.ParseAddr(id); err != nil {
		writeError(c, &badRequest{param: "id", err: errors.New("want the neighbor's IP address, as listed by /api/v1/routeserver/neighbors")})
		return
	}
	rs, err := a.deps.RouteServer.Routes(c.Request.Context(), id, kind)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"neighbor": id, "kind": kind, "routes": rs})
}

// parsePrefix accepts a prefix or a bare address (a host route).
func parsePrefix(s string) (netip.Prefix, error) {
	if s == "" {
		return netip.Prefix{}, errors.New("missing; give a prefix such as 192.0.2.0/24 or an address")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not a prefix: " + s)
		}
		return p.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not a prefix or address: " + s)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

func (a *Component) lookup(c *gin.Context) {
	p, err := parsePrefix(c.Query("prefix"))
	if err != nil {
		writeError(c, &badRequest{param: "prefix", err: err})
		return
	}
	matched, rs, err := a.deps.RouteServer.Lookup(c.Request.Context(), p)
	if err != nil {
		writeError(c, err)
		return
	}
	body := gin.H{"query": p.String(), "routes": rs}
	if matched.IsValid() {
		body["prefix"] = matched.String()
	}
	c.JSON(http.StatusOK, body)
}

func (a *Component) reasons(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"reasons": routeserver.Reasons()})
}

func (a *Component) reload(c *gin.Context) {
	if a.deps.Reload == nil {
		writeError(c, routeserver.ErrNotRunning)
		return
	}
	if err := a.deps.Reload(c.Request.Context()); err != nil {
		writeError(c, &invalidMembers{err: err})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "reloaded"})
}

// rsStatus reports the route server's identity and graceful-shutdown state,
// and the instance that answers.
func (a *Component) rsStatus(c *gin.Context) {
	c.JSON(http.StatusOK, a.status())
}

// gshut puts the whole route server into graceful shutdown (RFC 8326) or
// takes it out: ?enabled=true|false.
func (a *Component) gshut(c *gin.Context) {
	on, err := strconv.ParseBool(c.Query("enabled"))
	if err != nil {
		writeError(c, &badRequest{param: "enabled", err: errors.New("want true or false")})
		return
	}
	if err := a.deps.RouteServer.SetGracefulShutdown(c.Request.Context(), on); err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, a.status())
}
