package service

import (
	"context"

	"github.com/yandex-cloud/go-genproto/yandex/cloud/operation"

	"warden"
)

// Operations implements operation OperationService.
type Operations struct {
	operation.UnimplementedOperationServiceServer
	s *Service
}

// Operations returns the OperationService server.
func (s *Service) Operations() *Operations { return &Operations{s: s} }

// Get implements OperationService.Get.
func (o *Operations) Get(ctx context.Context, req *operation.GetOperationRequest) (*operation.Operation, error) {
	var op *warden.Operation
	err := o.s.store.View(ctx, func(tx warden.Tx) (err error) {
		op, err = tx.GetOperation(ctx, req.OperationId)
		return err
	})
	if err != nil {
		return nil, err
	}
	return operationProto(op)
}

// Cancel implements OperationService.Cancel. Warden finishes every operation
// before answering, so there is never one left to cancel.
func (o *Operations) Cancel(ctx context.Context, req *operation.CancelOperationRequest) (*operation.Operation, error) {
	op, err := o.Get(ctx, &operation.GetOperationRequest{OperationId: req.OperationId})
	if err != nil {
		return nil, err
	}
	if op.Done {
		return nil, warden.Errorf(warden.FailedPrecondition, "operation %s is already done and cannot be cancelled", op.Id)
	}
	return nil, warden.Errorf(warden.FailedPrecondition, "operation %s cannot be cancelled", op.Id)
}
