package server

import (
	"fmt"
	"net/http"
)

// The OpenAI error types the server uses.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typeServer         = "server_error"
	typeUpstream       = "upstream_error"
)

// apiError is an OpenAI-style error: an HTTP status and the error object.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

// invalid returns a 400 invalid_request_error about param (empty for none).
func invalid(param, format string, args ...any) *apiError {
	return newAPIError(http.StatusBadRequest, typeInvalidRequest, param, "", format, args...)
}

func newAPIError(status int, typ, param, code, format string, args ...any) *apiError {
	e := &apiError{Status: status, Type: typ, Message: fmt.Sprintf(format, args...)}
	if param != "" {
		e.Param = &param
	}
	if code != "" {
		e.Code = &code
	}
	return e
}

// write sends the error as {"error": {...}}.
func (e *apiError) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_ = newEncoder(w).Encode(struct {
		Error *apiError `json:"error"`
	}{e})
}
