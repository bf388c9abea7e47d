package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Wait returns op once it is done, polling OperationService.Get while it is
// not. Warden finishes its operations at once, so Wait usually returns
// immediately; an operation that failed is returned as *Error.
func (c *Client) Wait(ctx context.Context, op *operation.Operation) (*operation.Operation, error) {
	delay := 100 * time.Millisecond
	for !op.GetDone() {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 2*time.Second)
		var err error
		if op, err = c.Operations.Get(ctx, &operation.GetOperationRequest{OperationId: op.GetId()}); err != nil {
			return nil, err
		}
	}
	if e := op.GetError(); e != nil {
		st := status.FromProto(e)
		return op, newError(st, "")
	}
	return op, nil
}

// Result waits for op and unpacks its response into out, which must be of
// the response type the operation declares.
func (c *Client) Result(ctx context.Context, op *operation.Operation, out proto.Message) error {
	op, err := c.Wait(ctx, op)
	if err != nil {
		return err
	}
	return OperationResponse(op, out)
}

// OperationResponse unpacks the response of a finished operation into out.
func OperationResponse(op *operation.Operation, out proto.Message) error {
	if e := op.GetError(); e != nil {
		return newError(status.FromProto(e), "")
	}
	resp := op.GetResponse()
	if resp == nil {
		if !op.GetDone() {
			return errors.New("client: operation " + op.GetId() + " is not done")
		}
		return &Error{Code: codes.Internal, Message: fmt.Sprintf("operation %s has no response", op.GetId()), status: status.New(codes.Internal, "no response")}
	}
	if err := resp.UnmarshalTo(out); err != nil {
		return fmt.Errorf("client: operation %s response: %w", op.GetId(), err)
	}
	return nil
}
