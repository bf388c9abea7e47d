package service

import (
	"context"

	"warden"
)

// Allowed answers a resource service's check: does the principal hold
// permission on the resource (or an ancestor)? A resource the snapshot does
// not know yet costs store reads (see authorize).
func (s *Service) Allowed(ctx context.Context, p Subject, permission, resourceID string) bool {
	return s.authorizeAs(ctx, p, permission, resourceID) == nil
}

// MayCheck reports whether p may ask about other subjects in the access
// service: it must hold iam.access.check on some organization.
func (s *Service) MayCheck(p Subject) error {
	// A credential confined to a cloud or folder never covers an
	// organization.
	if p.Scope != "" || !s.authz.snap.Load().AllowedOnAnyRoot(p.ID, true, "iam.access.check") {
		return errDenied("iam.access.check", "the organization")
	}
	return nil
}

// Placement returns the folder and cloud a service account lives in ("" for
// other subjects).
func (s *Service) Placement(subjectID string) (folderID, cloudID string) {
	snap := s.authz.snap.Load()
	if n, ok := snap.Node(subjectID); ok && n.Type == warden.TypeServiceAccount {
		folderID = n.ParentID
		if f, ok := snap.Node(n.ParentID); ok {
			cloudID = f.ParentID
		}
	}
	return folderID, cloudID
}
