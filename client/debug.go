package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// debugCalls writes a line per gRPC call to w: the method, how long it
// took, the outcome with the status's raw message and the server's request
// id. Request and response bodies are not written: they may hold secrets.
func debugCalls(w io.Writer) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		start := time.Now()
		err := invoker(ctx, method, req, reply, cc, opts...)
		took := time.Since(start).Round(time.Microsecond)
		if err == nil {
			fmt.Fprintf(w, "DEBUG: grpc %s %s: OK\n", method, took)
			return nil
		}
		st := status.Convert(err)
		requestID := ""
		for _, d := range st.Details() {
			if ri, ok := d.(*errdetails.RequestInfo); ok {
				requestID = " request-id=" + ri.RequestId
			}
		}
		fmt.Fprintf(w, "DEBUG: grpc %s %s: %s %q%s\n", method, took, st.Code(), st.Message(), requestID)
		return err
	}
}

// debugTransport writes a line per HTTP request to w, like debugCalls.
type debugTransport struct {
	w    io.Writer
	next http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	took := time.Since(start).Round(time.Microsecond)
	if err != nil {
		fmt.Fprintf(t.w, "DEBUG: http %s %s %s: %v\n", req.Method, req.URL.Redacted(), took, err)
		return nil, err
	}
	fmt.Fprintf(t.w, "DEBUG: http %s %s %s: %s request-id=%s\n", req.Method, req.URL.Redacted(), took, resp.Status, resp.Header.Get("X-Request-Id"))
	return resp, nil
}
