package postbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"warden/accessclient"
)

// apiError is an answer in AWS's JSON error shape: the code in the
// x-amzn-ErrorType header and in "__type", a message safe to show.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return "postbox: " + e.code + ": " + e.message }

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "BadRequestException", fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "NotFoundException", fmt.Sprintf(format, args...)}
}

func alreadyExists(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "AlreadyExistsException", fmt.Sprintf(format, args...)}
}

// fail answers err and returns the status. Warden's refusals keep the code
// Warden gave (for SigV4 the AWS one: SignatureDoesNotMatch,
// InvalidAccessKeyId, …) with 401; an unreachable Warden is 503, never a
// pass; anything else is logged and answered without its details.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) int {
	var (
		ae      *apiError
		refused *accessclient.Error
		tooBig  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &refused) && refused.Code == 16: // Unauthenticated
		code := refused.Reason
		if code == "" {
			code = "UnrecognizedClientException"
		}
		ae = &apiError{http.StatusUnauthorized, code, refused.Message}
	case errors.As(err, &refused) && refused.Code == 7: // an API key outside its scope
		ae = &apiError{http.StatusForbidden, "AccessDeniedException", refused.Message}
	case errors.As(err, &refused) && refused.Code == 3:
		ae = badRequest("%s", refused.Message)
	case errors.As(err, &tooBig), errors.Is(err, accessclient.ErrBodyTooLarge):
		ae = &apiError{http.StatusRequestEntityTooLarge, "BadRequestException", fmt.Sprintf("the request body exceeds %d bytes", maxBody)}
	case errors.Is(err, accessclient.ErrUnavailable), errors.As(err, &refused):
		h.log.Error("postbox: access check failed", "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusServiceUnavailable, "ServiceUnavailable", "the access check is unavailable; try again later"}
	default:
		h.log.Error("postbox: internal error", "path", r.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "InternalFailure", "internal error"}
	}
	writeError(w, ae)
	return ae.status
}

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("x-amzn-ErrorType", e.code)
	writeJSON(w, e.status, map[string]string{"__type": e.code, "message": e.message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
