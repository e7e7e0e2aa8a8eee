package speaker

import (
	"errors"
	"fmt"

	"github.com/osrg/gobgp/v4/pkg/packet/bgp"
)

// ErrClosed is the session's error after Close, and what Send returns once
// the session has ended for any reason.
var ErrClosed = errors.New("bgp session closed")

// NotificationError is a NOTIFICATION that ended a session, either received
// from the peer or sent by this speaker (hold timer expired, a malformed
// message).
type NotificationError struct {
	// Code and Subcode are the NOTIFICATION's error code and subcode.
	Code, Subcode uint8
	// Data is the NOTIFICATION's data field.
	Data []byte
	// Sent is true when this speaker sent the NOTIFICATION, false when it
	// came from the peer.
	Sent bool
}

// Error describes the notification with GoBGP's names for its codes.
func (e *NotificationError) Error() string {
	dir := "received"
	if e.Sent {
		dir = "sent"
	}
	return fmt.Sprintf("bgp notification %s: %s", dir, bgp.NewNotificationErrorCode(e.Code, e.Subcode))
}

// Is reports whether target is a NotificationError with the same code and
// subcode, so that errors.Is(err, &NotificationError{Code: 6, Subcode: 2})
// tests for a received or sent administrative shutdown.
func (e *NotificationError) Is(target error) bool {
	t, ok := target.(*NotificationError)
	return ok && t.Code == e.Code && t.Subcode == e.Subcode
}

// notification encodes a NOTIFICATION message.
func notification(code, subcode uint8, data []byte) []byte {
	b, err := bgp.NewBGPNotificationMessage(code, subcode, data).Serialize()
	if err != nil {
		// Only a data field longer than a message can fail; keep the codes.
		b, _ = bgp.NewBGPNotificationMessage(code, subcode, nil).Serialize()
	}
	return b
}
