package grpcapi

import (
	"errors"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"warden"
)

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"retry info rounded up", &warden.Error{Code: warden.ResourceExhausted, Message: "busy", RetryAfter: 1500 * time.Millisecond}, 2},
		{"sub-second is one", &warden.Error{Code: warden.ResourceExhausted, Message: "busy", RetryAfter: time.Millisecond}, 1},
		{"429 without a delay", warden.Errorf(warden.ResourceExhausted, "too big"), 1},
		{"503 without a delay", warden.Errorf(warden.Unavailable, "down"), 1},
		{"other codes none", warden.ErrUnauthenticated, 0},
		{"plain error", errors.New("boom"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := Status(tt.err, "req-1")
			if got := RetryAfterSeconds(st); got != tt.want {
				t.Errorf("RetryAfterSeconds = %d, want %d", got, tt.want)
			}
			// The delay travels to gRPC clients as google.rpc.RetryInfo.
			var info *errdetails.RetryInfo
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					info = ri
				}
			}
			var we *warden.Error
			if errors.As(tt.err, &we) && we.RetryAfter > 0 && (info == nil || info.RetryDelay.AsDuration() != we.RetryAfter) {
				t.Errorf("RetryInfo = %v, want %s", info, we.RetryAfter)
			}
		})
	}
	if got := HTTPStatus(status.New(codes.ResourceExhausted, "").Code()); got != 429 {
		t.Errorf("ResourceExhausted → %d", got)
	}
}
