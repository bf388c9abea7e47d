package postbox

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// page is a list request: GET with query parameters (AWS CLI, boto3) or
// POST with a JSON body (aws-sdk-go-v2 ≥ 1.77, which adds a filter).
type page struct {
	after  string
	size   int
	filter map[string]string
}

func pageOf(r *request, filterKeys map[string]bool) (*page, error) {
	var in struct {
		NextToken string
		PageSize  *int
		Filter    map[string]string
	}
	if r.Method == http.MethodPost {
		if err := decode(r, &in); err != nil {
			return nil, err
		}
	} else {
		q := r.URL.Query()
		in.NextToken = q.Get("NextToken")
		if s := q.Get("PageSize"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil {
				return nil, badRequest("PageSize: %q is not a number", s)
			}
			in.PageSize = &n
		}
	}
	p := &page{size: 100, filter: in.Filter}
	if in.PageSize != nil {
		if *in.PageSize < 1 || *in.PageSize > 1000 {
			return nil, badRequest("PageSize: between 1 and 1000")
		}
		p.size = *in.PageSize
	}
	if in.NextToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, badRequest("NextToken is not one this service gave")
		}
		p.after = string(after)
	}
	for k := range in.Filter {
		if !filterKeys[k] {
			return nil, badRequest("Filter: unknown key %q", k)
		}
	}
	return p, nil
}

// list returns a page of the names keep accepts, and the NextToken of the
// next page (nil on the last).
func (p *page) list(s *Store, folder, kind string, keep func(string) bool) ([]string, *string, error) {
	var out []string
	after := p.after
	for {
		names, more, err := s.List(folder, kind, after, p.size)
		if err != nil {
			return nil, nil, err
		}
		for _, n := range names {
			if keep(n) {
				out = append(out, n)
			}
			if len(out) == p.size {
				if n == names[len(names)-1] && !more {
					return out, nil, nil
				}
				next := base64.RawURLEncoding.EncodeToString([]byte(n))
				return out, &next, nil
			}
		}
		if !more {
			return out, nil, nil
		}
		after = names[len(names)-1]
	}
}

// decode reads a JSON request body into v.
func decode(r *request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		b = []byte("{}")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("the request body is not valid JSON for this operation: %v", err)
	}
	return nil
}

// withNextToken adds NextToken to a list answer when there is a next page.
func withNextToken(out map[string]any, next *string) map[string]any {
	if next != nil {
		out["NextToken"] = *next
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
