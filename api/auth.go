package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"

	"github.com/gin-gonic/gin"
)

// tokenChecker holds the hashes of the accepted tokens.
type tokenChecker struct {
	hashes [][]byte
}

func newTokenChecker(tokens []Token) tokenChecker {
	var t tokenChecker
	for _, tok := range tokens {
		if b, err := hex.DecodeString(tok.SHA256); err == nil {
			t.hashes = append(t.hashes, b)
		}
	}
	return t
}

// valid reports whether the request carries an accepted bearer token.
func (t tokenChecker) valid(header string) bool {
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	sum := sha256.Sum256([]byte(tok))
	found := 0
	for _, h := range t.hashes {
		found |= subtle.ConstantTimeCompare(sum[:], h)
	}
	return found == 1
}

// require rejects requests without an accepted token, saying nothing more.
func (a *Component) require() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !a.tokens.Load().valid(c.GetHeader("Authorization")) {
			a.metrics.authFailures.Inc()
			writeError(c, errUnauthorized)
			return
		}
		c.Next()
	}
}
